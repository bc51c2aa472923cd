"""Bad input and Nova errors through the queue, end to end with a real `vmha gateway`: each ends with a
clear reason in the journal (when the notification can be recorded at all) and on the dead-letter queue;
nothing is lost or left in the queues, and the gateway goes on serving."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.contracts import HostEvent, HostPayload, HostStatus, Notification, ProcessEvent, ProcessPayload
from vmha.journal import InstanceStatus, NotificationStatus, utc_now

from .recovery_support import HA, Recoveries, segment

FAILED = "compute1"
HOSTS = ("compute1", "compute2", "compute3")
HOST_DOWN = HostPayload(HostEvent.STOPPED, HostStatus.NORMAL)


@pytest.fixture
def recoveries(tmp_path: Path, admin_conn: Any, cloud_layout: Layout) -> Iterator[Recoveries]:
    made = Recoveries(tmp_path, admin_conn, cloud_layout, host_failure={"evacuate_all_instances": False})
    yield made
    made.close()


def letters_by_id(recoveries: Recoveries, count: int) -> dict[str | None, dict[str, Any]]:
    """The dead letters, once there are ``count`` of them, by the notification id each names."""
    assert wait_until(lambda: len(recoveries.dead_letters()) >= count, 60, 0.2), recoveries.dead_letters()
    letters = recoveries.dead_letters()
    assert len(letters) == count, letters
    return {letter["notification_id"]: letter for letter in letters}


def host_failure(host: str) -> dict[str, Any]:
    return Notification(uuid.uuid4(), "vmha-e2e-test", host, utc_now(), HOST_DOWN).to_dict()


def test_bad_notifications_are_dead_lettered_with_their_reason_and_the_gateway_goes_on(
        recoveries: Recoveries) -> None:
    gateway = recoveries.start()
    recoveries.wait_ready(gateway)
    malformed = '{"type": "COMPUTE_HOST", "hostname": '
    wrong = {**host_failure(FAILED), "payload": {"event": "EXPLODED"}}
    oversized = {**host_failure(FAILED), "payload": {**HOST_DOWN.to_dict(), "cluster_status": "x" * 200_000}}
    deep: Any = "STOPPED"
    for _ in range(200):  # Zaqar takes up to about 940 levels; Python's recursion stops near 1000
        deep = {"event": deep}
    nested = {**host_failure(FAILED), "payload": deep}
    far = {**host_failure(FAILED), "generated_time": "9999-12-31T23:59:59Z"}  # + the ceiling: past year 9999
    for body in (malformed, wrong, oversized, nested, far):
        recoveries.post(body)
    nowhere = recoveries.notify(f"nowhere-{uuid.uuid4().hex[:6]}", HOST_DOWN)
    letters = letters_by_id(recoveries, 6)
    later = recoveries.wait_ended(recoveries.notify("compute2", ProcessPayload(ProcessEvent.STARTED, "nova-compute")))
    refused = recoveries.detail(nowhere).notification
    assert gateway.poll() is None
    assert recoveries.queue_total("notifications") == recoveries.queue_total("steps") == 0
    assert (letters[None]["body"], letters[None]["reason"]) == (malformed, "invalid notification: malformed JSON "
                                                                "at line 1 column 38: Expecting value")
    not_an_event = 'invalid notification: payload/event: "EXPLODED" is not one of STOPPED, STARTED'
    assert letters[wrong["id"]]["reason"] == not_an_event
    assert letters[wrong["id"]]["body"] == wrong and recoveries.status(wrong["id"]) is None
    assert letters[oversized["id"]]["reason"].startswith("invalid notification: payload/cluster_status: ")
    assert letters[oversized["id"]]["body"]["truncated"] is True
    assert letters[nested["id"]]["reason"] == "invalid notification: JSON nested deeper than 32 levels"
    assert letters[nested["id"]]["body"] == {"unquoted": "JSON nested deeper than 32 levels"}
    assert letters[far["id"]]["reason"] == ("invalid notification: generated_time: '9999-12-31T23:59:59Z' is out "
                                            "of range (years 1970 to 8999)")
    assert (refused.status, letters[nowhere]["reason"]) == (NotificationStatus.FAILED, refused.status_reason)
    assert refused.status_reason is not None and "is in no vmha segment" in refused.status_reason
    assert (later.notification.status, later.notification.status_reason) == (
        NotificationStatus.IGNORED, "process nova-compute started: nothing to recover")


@contextlib.contextmanager
def pinned_flavor(conn: Any, host: str) -> Iterator[Any]:
    """A copy of the test flavor whose servers only fit ``host`` (Nova's ComputeCapabilitiesFilter)."""
    base = conn.compute.find_flavor(catalog.FLAVOR_NAME, ignore_missing=False)
    flavor = conn.compute.create_flavor(name=f"vmha-e2e-pinned-{uuid.uuid4().hex[:6]}", ram=base.ram,
                                        vcpus=base.vcpus, disk=base.disk)
    try:
        conn.compute.create_flavor_extra_specs(flavor, {"capabilities:hypervisor_hostname": host})
        yield flavor
    finally:
        conn.compute.delete_flavor(flavor)


def test_an_evacuation_nova_cannot_place_fails_the_recovery_with_nova_s_reason(
        admin_conn: Any, cloud_layout: Layout, recoveries: Recoveries) -> None:
    conn = admin_conn
    with segment(conn, HOSTS, {"vmha:recovery_method": "auto"}), pinned_flavor(conn, FAILED) as pinned:
        image = conn.image.find_image(catalog.IMAGE_NAME, ignore_missing=False)
        [movable] = helpers.boot_servers(conn, FAILED, 1, f"vmha-e2e-{uuid.uuid4().hex[:6]}", metadata=HA)
        stuck = conn.compute.create_server(name=f"{movable.name}-pinned", image_id=image.id, flavor_id=pinned.id,
                                           networks="none", host=FAILED, metadata=HA)
        try:
            conn.compute.wait_for_server(stuck, status="ACTIVE", wait=120, interval=0.5)
            recoveries.wait_ready(recoveries.start())
            helpers.kill_host(cloud_layout, FAILED)
            nid = recoveries.notify(FAILED, HOST_DOWN)
            detail = recoveries.wait_ended(nid)
            letters = letters_by_id(recoveries, 1)
            moved, left = (conn.compute.get_server(server.id) for server in (movable, stuck))
        finally:
            helpers.restore_host(cloud_layout, conn, FAILED)
            helpers.delete_servers(conn, [movable, stuck])
    record = detail.notification
    assert record.status is NotificationStatus.FAILED
    assert letters[nid]["reason"] == record.status_reason
    assert record.status_reason is not None and record.status_reason.startswith(  # Nova's fault text may come later
        f"1 server(s) not evacuated from {FAILED}: {stuck.id}: Nova left the server on {FAILED} (error")
    assert (moved.status, left.status, left.compute_host) == ("ACTIVE", "ERROR", FAILED)
    assert moved.compute_host != FAILED
    assert {item.instance_uuid: item.status for item in detail.instances} == {
        movable.id: InstanceStatus.SUCCEEDED, stuck.id: InstanceStatus.FAILED}
