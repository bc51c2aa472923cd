"""The same failures as vmha's benchmark, recovered by Masakari 22 (``tests.bench.masakari_service``).

Host failure: N HA servers on one free fake host of a fresh Masakari segment (its hosts made through
Masakari's API, the spare of a reserved_host segment ``reserved`` and its nova-compute disabled, as
Masakari wants); the host's nova-compute is SIGKILLed and the COMPUTE_HOST notification posted at once
through Masakari's API (openstacksdk's instance_ha proxy); the clock stops when every server is ACTIVE,
settled, on another host: way (a), as vmha's ``tests.bench.host_failure``. VM failure: one HA server
stopped through Nova, the LIFECYCLE/STOPPED_FAILED notification posted, timed until ACTIVE again (as
``tests.bench.vm_failure``). Each run's spans are Masakari's own task records (notification API 1.1)
and Nova's server actions. Everything made is removed and the host restored afterwards.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from tests.bench import host_failure, nova_events, vm_failure
from tests.bench.host_failure import BenchError, Plan, Run
from tests.bench.timeline import Span
from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from vmha.contracts import RecoveryMethod
from vmha.demo import servers
from vmha.demo.hosts import free_hosts, taken_hosts
from vmha.demo.servers import Placement

ENDED = frozenset({"finished", "failed", "ignored", "error"})
"""Masakari's notification statuses after which it does no more (``error`` waits for a periodic retry)."""
HOST_DOWN = {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}


def host_run(layout: Layout, method: RecoveryMethod, count: int, timeout: float = 900.0) -> Run:
    """Fail a host holding ``count`` HA servers and let Masakari recover them with ``method``."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        chosen = host_failure.plan(conn, method)
        with masakari_segment(conn, chosen, method):
            placed = host_failure.boot(conn, chosen.failed, count)
            with host_failure.restored(conn, layout, chosen.failed, placed):
                return _fail_host(conn, layout, method, placed, timeout)
    finally:
        conn.close()
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


def vm_run(layout: Layout, timeout: float = 120.0) -> Run:
    """Crash (stop) one HA server and time its restart by Masakari."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        hosts = free_hosts(conn, taken_hosts(conn))
        if not hosts:
            raise BenchError("need a free compute host (up, enabled, in no vmha segment)")
        with masakari_segment(conn, Plan(hosts[-1], (hosts[-1],), None), RecoveryMethod.AUTO):
            [server] = host_failure.boot(conn, hosts[-1], 1)
            try:
                return _fail_vm(conn, server, timeout)
            finally:
                servers.delete(conn, [server.id], 120.0)
    finally:
        conn.close()
    raise AssertionError("unreachable")


@contextlib.contextmanager
def masakari_segment(conn: Any, chosen: Plan, method: RecoveryMethod) -> Iterator[Any]:
    """A Masakari segment over the plan's hosts, the spare reserved and disabled; all undone afterwards."""
    ha = conn.instance_ha
    segment = ha.create_segment(name=f"bench-{uuid.uuid4().hex[:8]}", recovery_method=method.value,
                                service_type="COMPUTE")
    try:
        for host in chosen.members:
            ha.create_host(segment.uuid, name=host, type="COMPUTE", control_attributes="SSH",
                           reserved=host == chosen.spare)
        if chosen.spare is not None:
            conn.compute.disable_service(helpers.compute_service(conn, chosen.spare), chosen.spare,
                                         "nova-compute", disabled_reason=host_failure.SPARE_REASON)
        yield segment
    finally:
        try:
            if chosen.spare is not None:
                conn.compute.enable_service(helpers.compute_service(conn, chosen.spare), chosen.spare,
                                            "nova-compute")
        finally:
            for host in list(ha.hosts(segment.uuid)):
                ha.delete_host(host.uuid, segment.uuid, ignore_missing=True)
            ha.delete_segment(segment.uuid, ignore_missing=True)


def _fail_host(conn: Any, layout: Layout, method: RecoveryMethod, placed: list[Placement], timeout: float) -> Run:
    host = placed[0].host
    helpers.kill_host(layout, host)
    t0, started = datetime.now(UTC), time.monotonic()
    nid = notify(conn, "COMPUTE_HOST", host, HOST_DOWN)
    done_at = host_failure.wait_recovered(conn, placed, started + timeout, lambda: status(conn, nid) in ENDED)
    record = wait_ended(conn, nid, max(60.0, started + timeout - time.monotonic()))
    now = {server.id: server for server in servers.look(conn, placed)}
    recovered = sum(servers.recovered(server, now[server.id]) for server in placed)
    return Run(f"host {method.value} {len(placed)}", len(placed), recovered,
               None if done_at is None else done_at - started, str(record.get("status")), host,
               tuple(task_spans(record, t0)), (),
               tuple(nova_events.spans(conn, [server.id for server in placed], "evacuate", t0)))


def _fail_vm(conn: Any, server: Placement, timeout: float) -> Run:
    conn.compute.stop_server(server.id)
    conn.compute.wait_for_server(conn.compute.get_server(server.id), status="SHUTOFF", wait=60, interval=0.2)
    t0, started = datetime.now(UTC), time.monotonic()
    nid = notify(conn, "VM", server.host, {"event": "LIFECYCLE", "instance_uuid": server.id,
                                           "vir_domain_event": "STOPPED_FAILED"})
    done_at = vm_failure.wait_active(conn, server.id, started + timeout, lambda: status(conn, nid) in ENDED)
    record = wait_ended(conn, nid, 60.0)
    return Run(vm_failure.SCENARIO, 1, int(done_at is not None), None if done_at is None else done_at - started,
               str(record.get("status")), server.host, tuple(task_spans(record, t0)), (),
               tuple(nova_events.spans(conn, [server.id], "start", t0)))


def notify(conn: Any, kind: str, host: str, payload: dict[str, str]) -> str:
    """Post a notification through Masakari's API; its uuid."""
    generated = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    created = conn.instance_ha.create_notification(type=kind, hostname=host, generated_time=generated,
                                                   payload=payload)
    return str(created.notification_uuid)


def record_of(conn: Any, nid: str) -> dict[str, Any]:
    """The notification with its recovery workflow details (Masakari API microversion 1.1)."""
    response = conn.instance_ha.get(f"/notifications/{nid}", microversion="1.1")
    response.raise_for_status()
    found: dict[str, Any] = response.json()["notification"]
    return found


def status(conn: Any, nid: str) -> str:
    return str(conn.instance_ha.get_notification(nid).status)


def wait_ended(conn: Any, nid: str, timeout: float) -> dict[str, Any]:
    """The notification's record once Masakari ended it (or at the timeout, as it then is)."""
    deadline = time.monotonic() + timeout
    while status(conn, nid) not in ENDED and time.monotonic() < deadline:
        time.sleep(0.5)
    return record_of(conn, nid)


def task_spans(record: dict[str, Any], t0: datetime) -> list[Span]:
    """A span per Masakari task: its first to its last progress record, in seconds after ``t0``."""
    found = []
    for task in record.get("recovery_workflow_details") or ():
        stamps = [_utc(detail["timestamp"]) for detail in task.get("progress_details") or ()]
        if stamps:
            found.append(Span(f"masakari {task['name']}", (min(stamps) - t0).total_seconds(),
                              (max(stamps) - t0).total_seconds(), 1, 1))
    return sorted(found, key=lambda span: span.start)


def _utc(text: str) -> datetime:
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
