"""One VM failure and its recovery on the local cloud: notification posted -> the server ACTIVE again.

One HA server is booted on a free fake host in a fresh segment (the stage of ``tests.bench.host_failure``),
stopped through Nova (the fake driver has no guest to crash: the server is SHUTOFF, as Nova's power sync
leaves a crashed guest), then the VM notification a libvirt monitor posts for a crash (LIFECYCLE,
STOPPED_FAILED) goes to the gateway's queue and the clock runs until the server is ACTIVE with no task.
This is how Masakari's VM figures (notification -> ACTIVE again) were taken. On the kvm profile's hosts
(``tests.bench.hypervisor.KVM``) the server is a real guest and the failure is real: its QEMU process is
SIGKILLed and the same notification posted at that instant (detection excluded, as for the fake driver);
Nova's own power sync sees the guest gone meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench import nova_events, timeline
from tests.bench.host_failure import BenchError, Plan, Run, boot, stage, verdict
from tests.bench.hypervisor import FAKE, Hypervisor, qemu_pids
from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.integration.recovery_support import Recoveries
from vmha.contracts import FailureType, VirDomainEvent, VmEvent, VmPayload
from vmha.demo import servers
from vmha.demo.hosts import free_hosts, taken_hosts
from vmha.demo.servers import Placement
from vmha.functions.registry import resolve_flow
from vmha.journal import TERMINAL, utc_now

POLL_SECONDS = 0.1
SCENARIO = "vm"


def run(layout: Layout, work: Path, timeout: float = 120.0, hypervisor: Hypervisor = FAKE) -> Run:
    """Crash one HA server (stop it; SIGKILL its QEMU on kvm hosts) and time its restart by vmha; see the
    module docstring."""
    with ha_server(layout, work, hypervisor) as (conn, recoveries, server, _):
        return _fail(layout, conn, recoveries, server, timeout=timeout, hypervisor=hypervisor)
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


@contextlib.contextmanager
def ha_server(layout: Layout, work: Path,
              hypervisor: Hypervisor = FAKE) -> Iterator[tuple[Any, Recoveries, Placement, float]]:
    """A connection, a ready gateway on a fresh segment of one free host of ``hypervisor``, one HA server booted
    there and the time.monotonic() its boot was asked for; the server, the stage and the connection removed on
    the way out."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        hosts = [host for host in free_hosts(conn, taken_hosts(conn)) if host in hypervisor.hosts]
        if not hosts:
            raise BenchError(f"need a free {hypervisor.name} compute host (up, enabled, in no vmha segment)")
        with stage(conn, layout, work, Plan(hosts[-1], (hosts[-1],), None), hypervisor=hypervisor) as recoveries:
            asked = time.monotonic()
            [server] = boot(conn, hosts[-1], 1, hypervisor)
            try:
                yield conn, recoveries, server, asked
            finally:
                servers.delete(conn, [server.id], 120.0)
    finally:
        conn.close()


def _fail(layout: Layout, conn: Any, recoveries: Recoveries, server: Placement, *, timeout: float,
          hypervisor: Hypervisor) -> Run:
    if hypervisor is FAKE:
        conn.compute.stop_server(server.id)
        conn.compute.wait_for_server(conn.compute.get_server(server.id), status="SHUTOFF", wait=60, interval=0.2)
    else:
        [qemu] = qemu_pids(layout, conn, [server.id])
        os.kill(qemu, signal.SIGKILL)
    t0, started = utc_now(), time.monotonic()
    nid = recoveries.notify(server.host, VmPayload(VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED,
                                                   uuid.UUID(server.id)))
    # A killed guest's server shows ACTIVE until Nova's power sync notices: only a start after t0 counts there.
    def ended() -> bool:
        return recoveries.status(nid) in TERMINAL

    done_at = (wait_active(conn, server.id, started + timeout, ended) if hypervisor is FAKE
               else wait_restarted(conn, server.id, t0, started + timeout, ended))
    detail = recoveries.wait_ended(nid, 60.0)
    flow = resolve_flow(FailureType.VM, None)
    return Run(" ".join((SCENARIO, *hypervisor.labels)), 1, int(done_at is not None),
               None if done_at is None else done_at - started,
               verdict(detail), server.host, tuple(timeline.spans(detail, t0)),
               tuple(timeline.hops(detail, flow)), tuple(nova_events.spans(conn, [server.id], "start", t0)))


def wait_active(conn: Any, server_id: str, deadline: float, ended: Callable[[], bool]) -> float | None:
    """time.monotonic() when the server was first seen ACTIVE with no task; None at the deadline, or once
    vmha ended the notification without the server ACTIVE."""
    while time.monotonic() < deadline:
        over = ended()
        if servers.place(conn.compute.get_server(server_id)).settled:
            return time.monotonic()
        if over:
            return None
        time.sleep(POLL_SECONDS)
    return None


def wait_restarted(conn: Any, server_id: str, since: datetime, deadline: float,
                   ended: Callable[[], bool], *, action: str = "start") -> float | None:
    """time.monotonic() when the server was first seen ACTIVE with no task after an ``action`` (``start``, or
    ``reboot`` for a hung guest) begun after ``since`` finished; None at the deadline, or once vmha ended the
    notification without that."""
    while time.monotonic() < deadline:
        over = ended()
        if servers.place(conn.compute.get_server(server_id)).settled and \
                acted_since(conn, server_id, since, action):
            return time.monotonic()
        if over:
            return None
        time.sleep(POLL_SECONDS)
    return None


def acted_since(conn: Any, server_id: str, since: datetime, action: str) -> bool:
    """Whether an ``action`` of the server begun after ``since`` has finished every event (Nova keeps action
    start times in whole seconds)."""
    floor = since.replace(microsecond=0)
    for found in conn.compute.server_actions(server_id):
        if found.action == action and found.start_time and _utc(found.start_time) >= floor:
            events = conn.compute.get_server_action(found.request_id, server_id).events or ()
            return bool(events) and all(event.finish_time for event in events)
    return False


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
