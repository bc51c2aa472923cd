"""One hung guest detected by vmha's introspective monitor and its restart: agent hung -> server restarted.

As ``tests.bench.vm_failure`` (same segment, server and gateway), but nothing posts the notification and the
server is never stopped by hand: a real ``qemu-ga`` stands for the HA server's guest agent, a libvirt
test-driver domain (a node file) whose uuid is the Nova server's id names it in its agent channel, and a
``vmha monitor introspective`` process (a settings file, as deployed) pings it every 1 s, a ping unanswered
within 0.5 s is a miss, 3 misses make a QEMU_GUEST_AGENT_ERROR notification on the gateway's queue (socket
transport: the test driver cannot relay agent commands; opt-in all: the node file holds this guest alone).
The agent is hung (SIGSTOP) at t0; the gateway's VM flow stops and starts the server; the clock stops when
Nova shows it restarted: a ``start`` instance action begun after t0 has finished and the server is ACTIVE
with no task. The ``detection`` span (t0 -> the notification's generated_time, the monitor's clock on this
machine) comes first; the journal's ``intake`` span starts at t0, so it covers detection + intake.
Everything made is removed afterwards (server, agent, monitor, its node file, queues, segment).
Run: `.venv/bin/python -m tests.bench.guest_heartbeat [--iterations 1]` with the local cloud up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.bench import nova_events, timeline
from tests.bench.host_failure import BenchError, Run, verdict
from tests.bench.monitors import healthy
from tests.bench.vm_failure import ha_server
from tests.cloud.layout import Layout
from tests.integration.recovery_support import Recoveries
from tests.monitors_support import DOMAIN_XML, Agent, qemu_agents, wait_until
from vmha.contracts import FailureType
from vmha.demo import servers
from vmha.demo.servers import Placement
from vmha.functions.registry import resolve_flow
from vmha.journal import TERMINAL, NotificationFilter, utc_now

SCENARIO = "vm heartbeat"
INTERVAL_SECONDS, TIMEOUT_SECONDS, MISSES = 1.0, 0.5, 3
DETECTION_DEADLINE = 60.0
"""Seconds from the hang to the notification in the journal before the run is given up."""
POLL_SECONDS = 0.2
VMHA = str(Path(sys.executable).parent / "vmha")


def run(layout: Layout, work: Path, timeout: float = 120.0) -> Run:
    """Hang the guest agent of one HA server and time its restart by vmha; see the module docstring."""
    with ha_server(layout, work) as (conn, recoveries, server), qemu_agents(work / "agents", 1) as [agent], \
            monitor(layout, work, recoveries.queues["notifications"], server, agent):
        return _fail(conn, recoveries, server, agent, timeout)
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


@contextlib.contextmanager
def monitor(layout: Layout, work: Path, queue: str, server: Placement, agent: Agent) -> Iterator[None]:
    """A ``vmha monitor introspective`` process watching the server's guest, healthy; stopped on the way out."""
    node = work / "node.xml"
    node.write_text("<node>\n" + DOMAIN_XML.format(name=f"bench-{server.id[:8]}", uuid=server.id, socket=agent.socket)
                    + "\n</node>\n")
    settings = {"queues": {"notifications": queue}, "monitor": {
        "hostname": server.host, "cloud": "vmha-admin", "state_dir": str(work / "state"),
        "libvirt_uri": f"test://{node}", "log_level": "INFO",
        "sink": {"retry_initial_seconds": 0.05, "retry_max_seconds": 0.5},
        "introspective": {"transport": "socket", "socket_path_pattern": r".*/agent\.sock", "misses": MISSES,
                          "interval_seconds": INTERVAL_SECONDS, "timeout_seconds": TIMEOUT_SECONDS}}}
    (work / "monitor.yaml").write_text(yaml.safe_dump(settings))
    env = {**os.environ, "OS_CLIENT_CONFIG_FILE": str(layout.clouds_yaml)}
    with (work / "monitor.log").open("wb") as log:
        process = subprocess.Popen([VMHA, "monitor", "introspective", "--config", str(work / "monitor.yaml")],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_until(lambda: healthy(work / "state", [server.id]) or process.poll() is not None, 60, 0.2) \
                or process.poll() is not None:
            raise BenchError(f"the guest never became healthy: {(work / 'monitor.log').read_text()[-2000:]}")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _fail(conn: Any, recoveries: Recoveries, server: Placement, agent: Agent, timeout: float) -> Run:
    t0, started = utc_now(), time.monotonic()
    agent.signal(signal.SIGSTOP)
    nid, generated = _reported(recoveries, server.host, t0, started + DETECTION_DEADLINE)
    done_at = wait_restarted(conn, server.id, t0, started + timeout, lambda: recoveries.status(nid) in TERMINAL)
    detail = recoveries.wait_ended(nid, 60.0)
    detection = timeline.Span("detection", 0.0, (generated - t0).total_seconds(), 1, 1)
    flow = resolve_flow(FailureType.VM, None)
    return Run(SCENARIO, 1, int(done_at is not None), None if done_at is None else done_at - started,
               verdict(detail), server.host, (detection, *timeline.spans(detail, t0)),
               tuple(timeline.hops(detail, flow)), tuple(nova_events.spans(conn, [server.id], "start", t0)))


def _reported(recoveries: Recoveries, host: str, since: datetime, deadline: float) -> tuple[str, datetime]:
    """The id and generated_time of the host's notification once the gateway journaled it."""
    wanted = NotificationFilter(hostname=host, generated_since=since.replace(microsecond=0))
    while time.monotonic() < deadline:
        found = recoveries.journal.list_notifications(wanted, limit=1)
        if found:
            return found[0].id, found[0].generated_time
        time.sleep(0.1)
    raise BenchError(f"the introspective monitor did not report {host} within {DETECTION_DEADLINE:.0f} s")


def wait_restarted(conn: Any, server_id: str, since: datetime, deadline: float,
                   ended: Callable[[], bool]) -> float | None:
    """time.monotonic() when the server was first seen ACTIVE with no task after a ``start`` action begun
    after ``since`` finished; None at the deadline, or once vmha ended the notification without that."""
    while time.monotonic() < deadline:
        over = ended()
        if servers.place(conn.compute.get_server(server_id)).settled and started_since(conn, server_id, since):
            return time.monotonic()
        if over:
            return None
        time.sleep(POLL_SECONDS)
    return None


def started_since(conn: Any, server_id: str, since: datetime) -> bool:
    """Whether a ``start`` action of the server begun after ``since`` has finished every event (Nova keeps
    action start times in whole seconds)."""
    floor = since.replace(microsecond=0)
    for found in conn.compute.server_actions(server_id):
        if found.action == "start" and found.start_time and _utc(found.start_time) >= floor:
            events = conn.compute.get_server_action(found.request_id, server_id).events or ()
            return bool(events) and all(event.finish_time for event in events)
    return False


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.guest_heartbeat",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1, help="runs (default 1)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds from the hang to give up (default 120)")
    options = parser.parse_args(argv)
    # Imported here: tests.bench.recovery may import this module, and would then be only half loaded.
    from tests.bench.recovery import print_run  # noqa: PLC0415
    if options.iterations < 1:
        parser.error("--iterations must be at least 1")
    print(f"introspective monitor: interval {INTERVAL_SECONDS} s, timeout {TIMEOUT_SECONDS} s, misses {MISSES}")
    runs = []
    for iteration in range(1, options.iterations + 1):
        with tempfile.TemporaryDirectory(prefix="vmha-bench-") as work:
            found = run(Layout.from_env(), Path(work), options.timeout)
        print_run(found, f"guest agent hung on {found.host}, iteration {iteration}", sys.stdout)
        runs.append(found)
    return 0 if all(found.rto_seconds is not None for found in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
