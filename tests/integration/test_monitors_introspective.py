"""`vmha monitor introspective` against real qemu-ga agents (unix-listen sockets named in test-driver
domains), QEMU_GUEST_AGENT_ERROR notifications read back from a real Zaqar queue."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests import monitors_support as support
from tests.monitors_support import (
    agent_domains,
    monitor_settings,
    monitor_thread,
    qemu_agents,
    queue_bodies,
    wait_for_bodies,
    wait_for_touches,
    wait_until,
)

MISSES = 3

zaqar, queue = support.zaqar, support.queue  # fixtures shared by the monitor tests


@contextmanager
def running_monitor(state_dir: Path, queue: str, interval: float) -> Iterator[None]:
    settings = monitor_settings(
        state_dir, queue, cloud="vmha-admin", sink={"retry_initial_seconds": 0.05, "retry_max_seconds": 0.5},
        introspective={"transport": "socket", "socket_path_pattern": r".*/agent\.sock", "misses": MISSES,
                       "interval_seconds": interval, "timeout_seconds": 0.5})
    with monitor_thread("introspective", settings):
        yield


def phases(state_dir: Path) -> dict[str, str]:
    """The heartbeat phase of each watched guest, by instance uuid."""
    try:
        states = json.loads((state_dir / "heartbeats.json").read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {key.split(":")[0]: phase for key, (phase, _) in states.items()}


def wait_rounds(state_dir: Path, rounds: int) -> None:
    """Wait until the monitor has completed ``rounds`` more rounds (each one touches its health file)."""
    wait_for_touches(state_dir / "introspective.health", rounds)


def reported_uuids(bodies: list[dict[str, Any]]) -> list[str]:
    for body in bodies:
        assert (body["type"], body["hostname"]) == ("VM", "compute1")
        assert {k: v for k, v in body["payload"].items() if k != "instance_uuid"} == {
            "event": "QEMU_GUEST_AGENT_ERROR", "vir_domain_event": "STOPPED_FAILED"}
    return [body["payload"]["instance_uuid"] for body in bodies]


def test_killed_and_stopped_agents_are_reported_once_and_recovery_rearms(
        tmp_path: Path, zaqar: Any, queue: str) -> None:
    state = tmp_path / "state"
    with qemu_agents(tmp_path / "agents", 4) as agents, \
            agent_domains([agent.socket for agent in agents] + [tmp_path / "ghost" / "agent.sock"], "qga") as doms, \
            running_monitor(state, queue, interval=0.3):
        uuids = [dom.UUIDString() for dom in doms]
        assert wait_until(lambda: [phases(state).get(u) for u in uuids[:4]] == ["healthy"] * 4, 30)
        agents[0].signal(signal.SIGKILL)
        agents[1].signal(signal.SIGSTOP)
        bodies = wait_for_bodies(zaqar, queue, 2)
        wait_rounds(state, MISSES + 3)  # more misses must not report again
        assert sorted(reported_uuids(queue_bodies(zaqar, queue))) == sorted(uuids[:2])
        assert phases(state)[uuids[4]] == "discovery"  # never answered: watched, never reported

        agents[1].signal(signal.SIGCONT)
        assert wait_until(lambda: phases(state)[uuids[1]] == "healthy", 30)  # recovery noticed
        agents[1].signal(signal.SIGSTOP)
        bodies = wait_for_bodies(zaqar, queue, 3)
        wait_rounds(state, MISSES + 1)
    assert reported_uuids(bodies)[2] == uuids[1]
    assert len(queue_bodies(zaqar, queue)) == 3


def test_a_hundred_agents_watched_at_once(tmp_path: Path, zaqar: Any, queue: str) -> None:
    state = tmp_path / "state"
    with qemu_agents(tmp_path / "agents", 100) as agents, \
            agent_domains([agent.socket for agent in agents], "qga100") as doms, \
            running_monitor(state, queue, interval=1.0):
        uuids = [dom.UUIDString() for dom in doms]
        assert wait_until(lambda: [phases(state).get(u) for u in uuids] == ["healthy"] * 100, 60)
        for index in (7, 42):
            agents[index].signal(signal.SIGSTOP)  # hung: each ping waits out its timeout
        agents[99].signal(signal.SIGKILL)
        bodies = wait_for_bodies(zaqar, queue, 3, timeout=60)
        wait_rounds(state, 2)
        assert sorted(reported_uuids(queue_bodies(zaqar, queue))) == sorted(uuids[i] for i in (7, 42, 99))
        healthy = [u for i, u in enumerate(uuids) if i not in (7, 42, 99)]
        assert {phases(state)[u] for u in healthy} == {"healthy"}
    assert len(bodies) == 3
