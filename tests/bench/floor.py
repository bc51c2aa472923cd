"""Nova's own floor of a host recovery (issue 20): what Nova allows on this cloud with no HA service at all.

N servers (metadata ``HA_Enabled=True``, as in the host scenarios) are booted on one free fake host of a
fresh segment (the segment only keeps other tests off the hosts: no gateway watches it). The host's
nova-compute is SIGKILLed; at that instant its service is forced down and all N evacuations are requested
at once, one thread per server (no lock, no fence, no journal); the clock stops when every server is
ACTIVE, settled, on another host (the same wait as ``tests.bench.host_failure``), or a server is seen in ERROR
(Nova gave up on its evacuation: the run has no RTO). Everything made is
removed afterwards and the host put back into service, whatever happened.

Locked (``LOCKED``): the least any service must add that locks each server as Masakari's flow does (vmha
does): each thread locks its server before requesting its evacuation, and each server is unlocked as soon
as it is seen recovered, while the others still move (no fence, no journal, no reads but the wait's).
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import openstack

from tests.bench import host_failure, nova_events
from tests.bench.cloud_cpu import Meter
from tests.bench.host_failure import TIMEOUT, Run
from tests.bench.nova_watch import watching
from tests.bench.timeline import Span
from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.integration.recovery_support import segment
from vmha.contracts import RecoveryMethod
from vmha.demo import servers
from vmha.demo.servers import Placement
from vmha.journal import utc_now

SCENARIO = "floor"
LOCKED = "floor locked"
REQUESTS = "evacuate requests"
"""The span from the first evacuation request sent to the last one Nova accepted."""


def run(layout: Layout, _work: Path, count: int, *, locked: bool = False, timeout: float = TIMEOUT) -> Run:
    """Fail a host holding ``count`` servers and evacuate them all at once (``locked``: each locked first and
    unlocked once recovered); see the module docstring."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        chosen = host_failure.plan(conn, RecoveryMethod.AUTO)
        with segment(conn, chosen.members, chosen.metadata):
            placed = host_failure.boot(conn, chosen.failed, count)
            with host_failure.restored(conn, layout, chosen.failed, placed):
                return _fail(conn, layout, placed, timeout, locked=locked)
    finally:
        conn.close()
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


def _fail(conn: Any, layout: Layout, placed: list[Placement], timeout: float, *, locked: bool) -> Run:
    host = placed[0].host
    service, watch = helpers.compute_service(conn, host), watching(layout)
    helpers.kill_host(layout, host)
    t0, started, cloud = utc_now(), time.monotonic(), Meter(layout)
    conn.compute.update_service_forced_down(service, host, "nova-compute", forced=True)
    with ThreadPoolExecutor(max_workers=len(placed), thread_name_prefix="floor") as pool:
        requests = list(pool.map(lambda server: _evacuate(conn, server.id, t0, locked=locked), placed))
        unlocks: list[Future[None]] = []

        def unlock(server_id: str) -> None:
            unlocks.append(pool.submit(conn.compute.unlock_server, server_id))

        done_at = host_failure.wait_recovered(conn, placed, started + timeout, lambda: False,
                                              unlock if locked else None, give_up_on_error=True, watch=watch)
    cpu = cloud.spent()
    unlocked = sum(1 for future in unlocks if future.exception() is None)
    accepted = sum(1 for *_, error in requests if error is None)
    refused = sorted({error for *_, error in requests if error is not None})
    now = {server.id: server for server in servers.look(conn, placed)}
    recovered = sum(servers.recovered(server, now[server.id]) for server in placed)
    verdict = (f"{accepted}/{len(placed)} evacuations accepted" + (f", {unlocked} unlocked" if locked else "")
               + (f"; refused: {'; '.join(refused)}" if refused else ""))
    window = Span(REQUESTS, min(sent for sent, _, _ in requests), max(end for _, end, _ in requests), len(placed), 1)
    rto = None if done_at is None else done_at - started
    nova = tuple(nova_events.spans(conn, [server.id for server in placed], "evacuate", t0))
    return Run(f"{LOCKED if locked else SCENARIO} {len(placed)}", len(placed), recovered, rto, verdict, host,
               (window,), (), nova, cloud_cpu=cpu)


def _evacuate(conn: Any, server_id: str, t0: datetime, *, locked: bool) -> tuple[float, float, str | None]:
    """Request one evacuation (the scheduler picks the target), after locking the server if ``locked``; seconds
    after t0 the first request was sent and the last answered, and Nova's refusal if any."""
    sent = (utc_now() - t0).total_seconds()
    try:
        if locked:
            conn.compute.lock_server(server_id)
        conn.compute.evacuate_server(server_id)
    except openstack.exceptions.HttpException as error:  # a refusal is a figure of the floor: in the verdict
        return sent, (utc_now() - t0).total_seconds(), f"{type(error).__name__}: {error}"
    return sent, (utc_now() - t0).total_seconds(), None
