"""Issue 3's verification end to end: recoveries driven only by notifications posted to Zaqar, run by
real `vmha gateway` processes with the real step table against the local cloud, checked on the cloud and
in the journal. Each test makes its own queues, journal and segment, and restores every host it kills."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.cloud.nova import evacuation_running
from vmha.contracts import (
    HostEvent,
    HostPayload,
    HostStatus,
    ProcessEvent,
    ProcessPayload,
    VirDomainEvent,
    VmEvent,
    VmPayload,
)
from vmha.journal import FenceMethod, InstanceStatus, NotificationStatus, StepStatus

from .recovery_support import HA, Recoveries, actions, replayed, results, segment

FAILED = "compute1"
SPARE = "compute4"
HOSTS = ("compute1", "compute2", "compute3")
AUTO = {"vmha:recovery_method": "auto"}
HOST_DOWN = HostPayload(HostEvent.STOPPED, HostStatus.NORMAL)
DONE, SKIPPED = StepStatus.SUCCEEDED, StepStatus.SKIPPED


@pytest.fixture
def recoveries(tmp_path: Path, admin_conn: Any, cloud_layout: Layout) -> Iterator[Recoveries]:
    made = Recoveries(tmp_path, admin_conn, cloud_layout, host_failure={"evacuate_all_instances": False})
    yield made
    made.close()


def prefix() -> str:
    return f"vmha-e2e-{uuid.uuid4().hex[:6]}"


def test_host_failure_auto_evacuates_the_ha_servers_elsewhere(
        admin_conn: Any, cloud_layout: Layout, recoveries: Recoveries) -> None:
    conn, name = admin_conn, prefix()
    with segment(conn, HOSTS, AUTO):
        ha = helpers.boot_servers(conn, FAILED, 3, f"{name}-ha", metadata=HA)
        plain = helpers.boot_servers(conn, FAILED, 1, f"{name}-plain")
        try:
            recoveries.wait_ready(recoveries.start())
            helpers.kill_host(cloud_layout, FAILED)
            posted = time.monotonic()
            nid = recoveries.notify(FAILED, HOST_DOWN)
            moved = [helpers.wait_evacuated(conn, server, FAILED) for server in ha]
            print(f"\nauto recovery: {len(ha)} servers ACTIVE elsewhere {time.monotonic() - posted:.1f} s "
                  "after the notification was posted")
            detail = recoveries.wait_ended(nid)
            fence = recoveries.journal.get_fence(nid, FAILED)
            service = helpers.compute_service(conn, FAILED)
            left = conn.compute.get_server(plain[0].id)
            counts = [actions(conn, server)["evacuate"] for server in ha + plain]
            migrations = [[(m.source_compute, m.status) for m in conn.compute.migrations(
                server_id=server.id, migration_type="evacuation")] for server in ha + plain]
            running = [evacuation_running(conn, server.id, FAILED) for server in ha]
        finally:
            helpers.restore_host(cloud_layout, conn, FAILED)
            helpers.delete_servers(conn, ha + plain)
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    assert all(server.compute_host != FAILED for server in moved)
    # the segment fences by default: compute1's Redfish BMC powered it off before anything moved
    assert fence is not None and fence.method is FenceMethod.REDFISH and fence.proves_death
    first_evacuation = min(step.started_at for step in detail.steps if step.key.step_id == "evacuate_instance")
    assert fence.fenced_at <= first_evacuation
    assert (left.compute_host, left.status) == (FAILED, "ACTIVE")
    assert counts == [1, 1, 1, 0]
    assert migrations == [[(FAILED, "done")]] * len(ha) + [[]]
    assert running == [False] * len(ha)
    assert (service.status, service.is_forced_down) == ("disabled", True)
    assert service.disabled_reason == f"vmha: host failure detected (vmha notification {nid})"
    runs = {key: status for key, (status, _) in results(detail).items()}
    assert {key: runs[key] for key in runs if not key[1]} == {
        ("guard_mass_failure", ""): DONE, ("fence_host", ""): DONE,
        ("disable_compute_service", ""): DONE, ("plan_evacuation", ""): DONE, ("finish_host_recovery", ""): DONE}
    for server in ha:
        assert runs[("evacuate_instance", server.id)] is runs[("confirm_instance_evacuated", server.id)] is DONE
    instances = {item.instance_uuid: (item.status, item.source_host, item.dest_host) for item in detail.instances}
    assert instances == {**{server.id: (InstanceStatus.SUCCEEDED, FAILED, server.compute_host) for server in moved},
                         plain[0].id: (InstanceStatus.IGNORED, FAILED, None)}


def test_host_failure_reserved_host_moves_the_servers_onto_the_spare(
        admin_conn: Any, cloud_layout: Layout, recoveries: Recoveries) -> None:
    conn, spare_reason = admin_conn, "vmha e2e test: spare host"
    with segment(conn, HOSTS, {"vmha:recovery_method": "reserved_host", "vmha:reserved_hosts": SPARE}):
        servers = helpers.boot_servers(conn, FAILED, 2, prefix(), metadata=HA)
        conn.compute.disable_service(helpers.compute_service(conn, SPARE), SPARE, "nova-compute",
                                     disabled_reason=spare_reason)
        try:
            recoveries.wait_ready(recoveries.start())
            helpers.kill_host(cloud_layout, FAILED)
            nid = recoveries.notify(FAILED, HOST_DOWN)
            detail = recoveries.wait_ended(nid)
            placed = [conn.compute.get_server(server.id) for server in servers]
            spare = helpers.compute_service(conn, SPARE)
        finally:
            helpers.restore_host(cloud_layout, conn, FAILED)
            helpers.delete_servers(conn, servers)
            conn.compute.enable_service(helpers.compute_service(conn, SPARE), SPARE, "nova-compute")
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    assert {(server.compute_host, server.status, server.task_state) for server in placed} == {(SPARE, "ACTIVE", None)}
    assert (spare.status, spare.is_forced_down) == ("enabled", False)
    steps = results(detail)
    assert steps[("take_reserved_host", "")] == (DONE, {"reserved_host": SPARE, "previous_reason": spare_reason,
                                                        "aggregates_added": []})
    status, finished = steps[("finish_host_recovery", "")]
    assert status is DONE and finished is not None and finished["released"] is None
    assert f"reserved host {SPARE} in service" in [event.message for event in detail.events]


def test_vm_failure_stops_and_starts_the_server_once(
        admin_conn: Any, recoveries: Recoveries) -> None:
    conn, host = admin_conn, "compute2"
    with segment(conn, HOSTS, AUTO):
        [server] = helpers.boot_servers(conn, host, 1, prefix(), metadata=HA)
        try:
            recoveries.wait_ready(recoveries.start())
            failed = VmPayload(VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED, uuid.UUID(server.id))
            detail = recoveries.wait_ended(recoveries.notify(host, failed))
            restarted = conn.compute.get_server(server.id)
            counts = actions(conn, server)
        finally:
            helpers.delete_servers(conn, [server])
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    assert (restarted.status, restarted.task_state, restarted.compute_host) == ("ACTIVE", None, host)
    assert (counts["stop"], counts["start"]) == (1, 1)
    steps = {key: status for key, (status, _) in results(detail).items()}
    assert steps == {("stop_instance", ""): DONE, ("start_instance", ""): DONE,
                     ("confirm_instance_active", ""): DONE}


def test_process_failure_disables_the_compute_service(admin_conn: Any, recoveries: Recoveries) -> None:
    conn, host = admin_conn, "compute3"
    with segment(conn, HOSTS, AUTO):
        try:
            recoveries.wait_ready(recoveries.start())
            nid = recoveries.notify(host, ProcessPayload(ProcessEvent.STOPPED, "nova-compute"))
            detail = recoveries.wait_ended(nid)
            service = helpers.compute_service(conn, host)
        finally:
            conn.compute.enable_service(helpers.compute_service(conn, host), host, "nova-compute")
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    assert (service.status, service.is_forced_down, service.state) == ("disabled", False, "up")
    assert service.disabled_reason == f"vmha: nova-compute process failure detected (vmha notification {nid})"


def test_a_replica_killed_mid_recovery_leaves_every_evacuation_done_once(
        admin_conn: Any, cloud_layout: Layout, recoveries: Recoveries) -> None:
    conn = admin_conn
    with segment(conn, HOSTS, AUTO):
        servers = helpers.boot_servers(conn, FAILED, 4, prefix(), metadata=HA)
        try:
            replicas = [recoveries.start(), recoveries.start()]
            recoveries.wait_ready(*replicas)
            helpers.kill_host(cloud_layout, FAILED)
            nid = recoveries.notify(FAILED, HOST_DOWN)
            started = wait_until(lambda: recoveries.began(nid, "evacuate_instance"), 60, 0.05)
            assert started, f"no evacuation began: notification {recoveries.status(nid)}"
            # The replica that planned posted the evacuations and woke its own workers: it holds most of them.
            [victim] = [replica for replica in replicas if recoveries.ran(replica, "plan_evacuation")]
            os.kill(victim.pid, signal.SIGKILL)
            killed = time.monotonic()
            detail = recoveries.wait_ended(nid, timeout=240)
            print(f"\nrecovery ended {time.monotonic() - killed:.1f} s after the SIGKILL (claim TTL 60 s); "
                  f"step messages taken over: {replayed(detail)}")
            [survivor] = [replica for replica in replicas if replica is not victim]
            assert recoveries.stop(survivor) == 0
            counts = [actions(conn, server)["evacuate"] for server in servers]
            placed = [conn.compute.get_server(server.id) for server in servers]
        finally:
            helpers.restore_host(cloud_layout, conn, FAILED)
            helpers.delete_servers(conn, servers)
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    assert counts == [1] * len(servers)
    assert all(server.status == "ACTIVE" and server.compute_host != FAILED for server in placed)
    assert {item.status for item in detail.instances} == {InstanceStatus.SUCCEEDED}
