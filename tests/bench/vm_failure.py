"""One VM failure and its recovery on the local cloud: notification posted -> the server ACTIVE again.

One HA server is booted on a free fake host in a fresh segment (the stage of ``tests.bench.host_failure``),
stopped through Nova (the fake driver has no guest to crash: the server is SHUTOFF, as Nova's power sync
leaves a crashed guest), then the VM notification a libvirt monitor posts for a crash (LIFECYCLE,
STOPPED_FAILED) goes to the gateway's queue and the clock runs until the server is ACTIVE with no task.
This is how Masakari's VM figures (notification -> ACTIVE again) were taken.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.bench import nova_events, timeline
from tests.bench.host_failure import BenchError, Plan, Run, boot, stage, verdict
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


def run(layout: Layout, work: Path, timeout: float = 120.0) -> Run:
    """Crash (stop) one HA server and time its restart by vmha; see the module docstring."""
    with ha_server(layout, work) as (conn, recoveries, server):
        return _fail(conn, recoveries, server, timeout)
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


@contextlib.contextmanager
def ha_server(layout: Layout, work: Path) -> Iterator[tuple[Any, Recoveries, Placement]]:
    """A connection, a ready gateway on a fresh segment of one free host, and one HA server booted there;
    the server, the stage and the connection removed on the way out."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        hosts = free_hosts(conn, taken_hosts(conn))
        if not hosts:
            raise BenchError("need a free compute host (up, enabled, in no vmha segment)")
        with stage(conn, layout, work, Plan(hosts[-1], (hosts[-1],), None)) as recoveries:
            [server] = boot(conn, hosts[-1], 1)
            try:
                yield conn, recoveries, server
            finally:
                servers.delete(conn, [server.id], 120.0)
    finally:
        conn.close()


def _fail(conn: Any, recoveries: Recoveries, server: Placement, timeout: float) -> Run:
    conn.compute.stop_server(server.id)
    conn.compute.wait_for_server(conn.compute.get_server(server.id), status="SHUTOFF", wait=60, interval=0.2)
    t0, started = utc_now(), time.monotonic()
    nid = recoveries.notify(server.host, VmPayload(VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED,
                                                   uuid.UUID(server.id)))
    done_at = wait_active(conn, server.id, started + timeout, lambda: recoveries.status(nid) in TERMINAL)
    detail = recoveries.wait_ended(nid, 60.0)
    flow = resolve_flow(FailureType.VM, None)
    return Run(SCENARIO, 1, int(done_at is not None), None if done_at is None else done_at - started,
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
