"""Two `vmha gateway` replicas sharing tooz locks (the local cloud's etcd and Redis) on one recovery:
one recovery per failed host and one spare taken, evacuations in flight bounded (also by one gateway
without coordination_url, whose workers share in-process locks), a dead holder's lock expiring. Each test
makes its own queues, journal, segment and lock namespace, and restores what it changed.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tooz import coordination

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.contracts import HostEvent, HostPayload, HostStatus
from vmha.functions import locks
from vmha.functions.steps.evacuate_instance import SLOT_TAKEN
from vmha.journal import InstanceStatus, NotificationDetail, NotificationStatus

from .recovery_support import HA, Recoveries, actions, segment

FAILED = "compute1"
SPARES = ("compute3", "compute4")
SPARE_REASON = "vmha e2e test: spare host"
HOST_DOWN = HostPayload(HostEvent.STOPPED, HostStatus.NORMAL)


def etcd_url(layout: Layout) -> str:
    return layout.etcd_url.replace("http://", "etcd3+http://")


def redis_url(layout: Layout) -> str:
    return f"{layout.redis_url}?namespace=vmha-e2e-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def spares(admin_conn: Any) -> Iterator[tuple[str, ...]]:
    """compute3 and compute4 as disabled spares; enabled again afterwards."""
    for host in SPARES:
        admin_conn.compute.disable_service(helpers.compute_service(admin_conn, host), host, "nova-compute",
                                           disabled_reason=SPARE_REASON)
    yield SPARES
    for host in SPARES:
        admin_conn.compute.enable_service(helpers.compute_service(admin_conn, host), host, "nova-compute")


def test_two_replicas_take_one_spare_for_two_reports_of_one_host(
        tmp_path: Path, admin_conn: Any, cloud_layout: Layout, spares: tuple[str, ...]) -> None:
    conn = admin_conn
    recoveries = Recoveries(tmp_path, conn, cloud_layout, coordination_url=redis_url(cloud_layout),
                            host_failure={"evacuate_all_instances": False})
    metadata = {"vmha:recovery_method": "reserved_host", "vmha:reserved_hosts": ",".join(spares)}
    try:
        with segment(conn, (FAILED, "compute2"), metadata):
            servers = helpers.boot_servers(conn, FAILED, 3, f"vmha-e2e-{uuid.uuid4().hex[:6]}", metadata=HA)
            try:
                recoveries.wait_ready(recoveries.start(), recoveries.start())
                helpers.kill_host(cloud_layout, FAILED)
                first, second = recoveries.notify(FAILED, HOST_DOWN), recoveries.notify(FAILED, HOST_DOWN)
                details = [recoveries.wait_ended(nid, timeout=240) for nid in (first, second)]
                placed = [conn.compute.get_server(server.id) for server in servers]
                counts = [actions(conn, server)["evacuate"] for server in servers]
                services = {host: helpers.compute_service(conn, host) for host in spares}
            finally:
                helpers.restore_host(cloud_layout, conn, FAILED)
                helpers.delete_servers(conn, servers)
    finally:
        recoveries.close()
    statuses = sorted(detail.notification.status for detail in details)
    assert statuses == [NotificationStatus.FINISHED, NotificationStatus.IGNORED], [
        detail.notification.status_reason for detail in details]
    [recovered] = [detail for detail in details if detail.notification.status is NotificationStatus.FINISHED]
    [ignored] = [detail for detail in details if detail.notification.status is NotificationStatus.IGNORED]
    assert recovered.notification.id in str(ignored.notification.status_reason)
    taken = [host for host, service in services.items() if service.status == "enabled"]
    assert len(taken) == 1, {host: (s.status, s.disabled_reason) for host, s in services.items()}
    [left] = [service for host, service in services.items() if host not in taken]
    assert left.disabled_reason == SPARE_REASON
    assert {(server.compute_host, server.status, server.task_state) for server in placed} == {
        (taken[0], "ACTIVE", None)}
    assert counts == [1] * len(servers)


@pytest.mark.parametrize("replicas", [2, 1], ids=["two-replicas-on-etcd", "one-gateway-without-coordination"])
def test_max_parallel_evacuations_keeps_one_evacuation_in_flight_at_a_time(
        tmp_path: Path, admin_conn: Any, cloud_layout: Layout, replicas: int) -> None:
    conn = admin_conn
    shared = etcd_url(cloud_layout) if replicas > 1 else ""  # one gateway alone: its in-process locks
    recoveries = Recoveries(tmp_path, conn, cloud_layout, coordination_url=shared,
                            host_failure={"evacuate_all_instances": False, "max_parallel_evacuations": 1})
    try:
        with segment(conn, (FAILED, "compute2", "compute3"), {"vmha:recovery_method": "auto"}):
            servers = helpers.boot_servers(conn, FAILED, 3, f"vmha-e2e-{uuid.uuid4().hex[:6]}", metadata=HA)
            try:
                recoveries.wait_ready(*(recoveries.start() for _ in range(replicas)))
                helpers.kill_host(cloud_layout, FAILED)
                detail = recoveries.wait_ended(recoveries.notify(FAILED, HOST_DOWN), timeout=240)
                counts = [actions(conn, server)["evacuate"] for server in servers]
            finally:
                helpers.restore_host(cloud_layout, conn, FAILED)
                helpers.delete_servers(conn, servers)
    finally:
        recoveries.close()
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    assert {item.status for item in detail.instances} == {InstanceStatus.SUCCEEDED}
    assert counts == [1] * len(servers)
    spans = evacuation_spans(detail)
    print("\nevacuation spans (slot taken -> confirmed):", [(start.time(), end.time()) for start, end in spans])
    assert len(spans) == len(servers)
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans)), spans


def evacuation_spans(detail: NotificationDetail) -> list[tuple[datetime, datetime]]:
    """Per server, from its evacuation taking a slot to its confirmation, in order of start."""
    taken = {event.instance_uuid: event.at for event in detail.events if event.message == SLOT_TAKEN}
    ended = {item.instance_uuid: item.finished_at for item in detail.instances}
    return sorted((taken[uuid_], end) for uuid_, end in ended.items() if end is not None and uuid_ in taken)


@pytest.mark.parametrize("backend", ["etcd", "redis"])
def test_a_lock_whose_holder_died_expires(cloud_layout: Layout, backend: str) -> None:
    url = etcd_url(cloud_layout) if backend == "etcd" else redis_url(cloud_layout)
    name = locks.lock_name(locks.Scope.HOST, f"vmha-e2e-{uuid.uuid4().hex[:8]}")
    holder = coordination.get_coordinator(locks.with_lock_timeout(url), b"vmha-e2e-dead-holder")
    holder.start(start_heart=False)  # never beats again: as if its process had died
    try:
        assert holder.get_lock(name.encode()).acquire(blocking=False)
        with pytest.raises(locks.LockUnavailableError), locks.held(url, name, wait=0.5):
            pass
        assert wait_until(lambda: free(url, name), 4 * locks.LOCK_TIMEOUT, 0.5)
    finally:
        holder.stop()


def free(url: str, name: str) -> bool:
    try:
        with locks.held(url, name, wait=0.5):
            return True
    except locks.LockUnavailableError:
        return False
