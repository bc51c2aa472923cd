"""A recovery ridden through a dependency's outage (issue 15 item 3): Nova's API, Zaqar, the journal's database
(PostgreSQL, a database of its own) or etcd, each a real process of the local cloud, stopped while a host
recovery runs and started again ``seconds`` later. Used by tests/integration/test_outages.py (30 s each, the
gateway's step retries shortened to last less) and the soak script ``python -m tests.bench.outages`` (5 minutes
each, vmha's default retries).

Stopping a shared service breaks whatever else runs on the cloud meanwhile: the outage holds an exclusive
``flock`` on ``OUTAGE_LOCK``; other sessions' integration runs can take it shared to stay out of the way.
"""

from __future__ import annotations

import contextlib
import fcntl
import signal
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zaqarclient.transport.errors import ServiceUnavailableError

from tests.cloud import helpers, infra, procs, services
from tests.cloud.layout import Layout
from tests.integration.recovery_support import HA, Recoveries, actions, segment
from vmha.contracts import HostEvent, HostPayload, HostStatus
from vmha.journal import NotificationDetail, open_journal

OUTAGES = ("nova", "zaqar", "journal", "etcd")
OUTAGE_LOCK = Path("/tmp/vmha-outage.lock")
FAILED = "compute1"
HOSTS = ("compute1", "compute2", "compute3")
HOST_DOWN = HostPayload(HostEvent.STOPPED, HostStatus.NORMAL)
_API = {"nova": "nova-api", "zaqar": "zaqar-api"}


@dataclass(frozen=True)
class RiddenOut:
    """What one recovery through an outage left behind."""

    outage: str
    seconds: float
    detail: NotificationDetail
    evacuations: tuple[int, ...]
    """Nova's evacuate actions per HA server."""
    locked: tuple[bool, ...]
    moved: tuple[bool, ...]
    """Each HA server ACTIVE on another host."""
    ended_after_restart: float
    """Seconds from the dependency answering again to the notification's end."""
    left_in_queues: int | None
    """None when Zaqar could not count them."""
    dead_letters: int
    gateway_alive: bool


@contextlib.contextmanager
def cloud_to_myself() -> Iterator[None]:
    """Hold the outage lock exclusively for the block."""
    with OUTAGE_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stop(layout: Layout, outage: str) -> None:
    """Stop the real process behind ``outage`` at once (PostgreSQL: its fast shutdown, which ends the sessions
    instead of waiting for them)."""
    if outage == "journal":
        procs.stop(layout, "postgresql", first=signal.SIGINT)
    else:
        procs.stop(layout, _API.get(outage, outage))


def start(layout: Layout, outage: str) -> None:
    """Start the process behind ``outage`` again and wait until it answers."""
    if outage == "journal":
        infra.start_postgresql(layout)
    elif outage == "etcd":
        infra.start_etcd(layout)
    else:
        [service] = [service for service in services.all_services(layout) if service.name == _API[outage]]
        services.start(layout, [service])
        services.wait_ready(layout, [service])


@contextlib.contextmanager
def journal_database(layout: Layout, outage: str, tmp_path: Path) -> Iterator[str]:
    """The gateway's journal URL: a PostgreSQL database of its own for the journal outage, else SQLite."""
    if outage != "journal":
        yield f"sqlite:///{tmp_path / 'journal.db'}"
        return
    name = f"vmha_outage_{uuid.uuid4().hex[:8]}"
    url = infra.create_postgresql_database(layout, name)
    try:
        yield url
    finally:
        infra.drop_postgresql_database(layout, name)


def ride_out(conn: Any, layout: Layout, tmp_path: Path, outage: str, seconds: float, *, servers: int = 3,
             retry: Mapping[str, Any] | None = None, say: Callable[[str], None] = lambda text: None) -> RiddenOut:
    """Kill a host holding ``servers`` HA servers, report it to a real gateway (its ``retry`` settings, default
    vmha's), stop ``outage`` as soon as the recovery began, start it again after ``seconds`` and wait for the
    recovery's end."""
    with journal_database(layout, outage, tmp_path) as journal_url, cloud_to_myself():
        settings: dict[str, Any] = {"host_failure": {"evacuate_all_instances": False}}
        if retry is not None:
            settings["retry"] = dict(retry)
        if outage == "etcd":
            settings["coordination_url"] = layout.etcd_url.replace("http://", "etcd3+http://")
        recoveries = Recoveries(tmp_path, conn, layout, journal_url=journal_url, **settings)
        ha: list[Any] = []
        try:
            with segment(conn, HOSTS, {"vmha:recovery_method": "auto"}):
                ha = helpers.boot_servers(conn, FAILED, servers, f"vmha-outage-{uuid.uuid4().hex[:6]}", metadata=HA)
                gateway = recoveries.start()
                recoveries.wait_ready(gateway)
                helpers.kill_host(layout, FAILED)
                nid = recoveries.notify(FAILED, HOST_DOWN)
                assert procs.wait_until(lambda: recoveries.began(nid, "fence_host"), 60, 0.05), "no recovery began"
                begun = _steps(recoveries, nid)
                stop(layout, outage)
                say(f"{outage} stopped for {seconds:g} s; steps begun by then: {begun}")
                try:
                    time.sleep(seconds)
                finally:
                    start(layout, outage)
                back = time.monotonic()
                recoveries.journal.close()  # its pooled connections died with the journal's database
                recoveries.journal = open_journal(journal_url)
                say(f"{outage} answers again")
                detail = recoveries.wait_ended(nid, timeout=300)
                ended = time.monotonic() - back
                procs.wait_until(lambda: _queued(recoveries) == 0, 120, 1.0)
                queued = _queued(recoveries)
                latest = [conn.compute.get_server(server.id) for server in ha]
                return RiddenOut(
                    outage, seconds, detail, tuple(actions(conn, server)["evacuate"] for server in ha),
                    tuple(bool(server.is_locked) for server in latest),
                    tuple(server.status == "ACTIVE" and server.compute_host != FAILED for server in latest),
                    ended, queued, len(recoveries.dead_letters()), gateway.poll() is None)
        finally:
            recoveries.close()
            helpers.restore_host(layout, conn, FAILED)
            helpers.delete_servers(conn, ha)


def _queued(recoveries: Recoveries) -> int | None:
    """Messages left on the recovery's queues, or None while Zaqar, just restarted, cannot count them yet
    (its queue stats answer 503 for a few seconds after a restart)."""
    try:
        return recoveries.queue_total("notifications") + recoveries.queue_total("steps")
    except ServiceUnavailableError:
        return None


def _steps(recoveries: Recoveries, nid: str) -> str:
    detail = recoveries.journal.get_notification(nid, with_events=False)
    return "-" if detail is None else ", ".join(sorted({run.key.step_id for run in detail.steps}))
