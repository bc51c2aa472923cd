"""Failback (issue 18 item 2) on the local cloud: a host killed and recovered by a real `vmha gateway` (fenced
through its Redfish BMC emulator, its HA servers evacuated), started again and returned to service by the
gateway (``vmha:return_to_service auto``); then its servers are live-migrated back to it (Nova's fake driver
does live migrations), by ``POST /v1/hosts/{name}/failback`` or, with ``vmha:failback auto``, by the gateway
itself once the return completes. The host is one no other test's segment holds, alone in its segment."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cloud import helpers
from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.cloud.procs import wait_until
from tests.failback_support import STOPPED
from vmha.cloud.nova import servers_on
from vmha.contracts import FailureType
from vmha.demo.hosts import free_hosts, taken_hosts
from vmha.journal import NewNotification, NotificationDetail, NotificationStatus, utc_now

from .recovery_support import _LISTENING, Recoveries, actions, segment
from .test_return_to_service import PREFERRED, back_in_service, put_back, recover_then_start, returned

FAILBACK = "VMHA_FAILBACK"
FB_HA_KEY = "fb_HA_Enabled"
FB_HA = {FB_HA_KEY: "True"}
"""The test's own opt-in key: its recoveries move only its servers, never other sessions' HA servers."""


@pytest.fixture
def recoveries(tmp_path: Path, admin_conn: Any, cloud_layout: Layout) -> Iterator[Recoveries]:
    made = Recoveries(tmp_path, admin_conn, cloud_layout, gateway={"sweep_interval_seconds": 2},
                      host_failure={"evacuate_all_instances": False, "mass_failure_share": 1},
                      failback={"max_parallel": 1}, ha_enabled_metadata_key=FB_HA_KEY)
    yield made
    made.close()


@pytest.fixture
def failed(admin_conn: Any) -> str:
    """A fake-driver compute host (live migration needs two of one driver) that is up, enabled and in no
    segment, waited for: the hosts are shared. The one holding fewest servers: other sessions' servers on it
    would be recovered and moved back too."""
    found: list[str] = []

    def free() -> bool:
        hosts = [host for host in free_hosts(admin_conn, taken_hosts(admin_conn)) if host in COMPUTE_HOSTS]
        found[:] = sorted(hosts, key=lambda host: (len(servers_on(admin_conn, host)), PREFERRED.index(host)))
        return bool(found)

    assert wait_until(free, 600, 5), "every compute host is in another test's segment or down"
    return found[0]


def gateway_api(conn: Any, recoveries: Recoveries, gateway: subprocess.Popen[bytes]) -> Any:
    """``method`` on a path of the gateway's ``/v1`` with the admin's token (Masakari microversion 1.3)."""
    found = _LISTENING.search(recoveries.log_of(gateway))
    assert found is not None
    url, token = found.group(1), conn.session.get_token()

    def call(method: str, path: str) -> requests.Response:
        return requests.request(method, f"{url}/v1/{path}", timeout=60,
                                headers={"X-Auth-Token": token, "OpenStack-API-Version": "instance-ha 1.3"})

    return call


def failback_id(answer: requests.Response) -> str:
    """The id of the failback a 202 started."""
    assert answer.status_code == 202, answer.text
    return str(answer.json()["failback"]["id"])


def vmoves(detail: NotificationDetail) -> dict[str, tuple[str, str]]:
    return {item.instance_uuid: (item.status.value, item.message or "") for item in detail.instances}


def test_manual_failback_moves_the_evacuated_servers_back_exactly_once(
        admin_conn: Any, cloud_layout: Layout, recoveries: Recoveries, failed: str) -> None:
    conn = admin_conn
    with segment(conn, (failed,), {"vmha:recovery_method": "auto", "vmha:return_to_service": "auto"},
                 prefix="fb") as aggregate:
        servers = helpers.boot_servers(conn, failed, 3, f"fb-{uuid.uuid4().hex[:6]}", metadata=FB_HA)
        locked = servers[2]
        try:
            nid, gateway = recover_then_start(conn, cloud_layout, recoveries, servers[0], failed)
            call = gateway_api(conn, recoveries, gateway)
            not_back = call("POST", f"hosts/{failed}/failback")
            assert wait_until(lambda: back_in_service(conn, failed), 120, 1), helpers.compute_service(conn, failed)
            assert wait_until(lambda: returned(recoveries, nid), 30, 0.5)
            busy = busy_segment(recoveries, aggregate.name, call, failed)
            conn.compute.lock_server(locked)
            first = call("POST", f"hosts/{failed}/failback")
            twice, cancel = call("POST", f"hosts/{failed}/failback"), call("DELETE", f"hosts/{failed}/failback")
            cancelled = recoveries.wait_ended(failback_id(first), 120)
            nothing_to_cancel = call("DELETE", f"hosts/{failed}/failback")
            second = call("POST", f"hosts/{failed}/failback")
            moved = recoveries.wait_ended(failback_id(second), 120)
            third = call("POST", f"hosts/{failed}/failback")
            listed = call("GET", f"notifications?type={FAILBACK}").json()["notifications"]
            shown = call("GET", f"notifications/{moved.notification.id}/vmoves").json()["vmoves"]
            unknown = call("POST", f"hosts/fb-nohost-{uuid.uuid4().hex[:6]}/failback")
            where = {server.id: conn.compute.get_server(server.id).compute_host for server in servers}
            migrations = {server.id: actions(conn, server)["live-migration"] for server in servers}
        finally:
            conn.compute.unlock_server(locked)
            put_back(cloud_layout, conn, failed)
            helpers.delete_servers(conn, servers)
    movable = {server.id for server in servers[:2]}
    assert not_back.status_code == 409 and "not back in service" in not_back.text, not_back.text
    assert busy.status_code == 409 and "under way" in busy.text, busy.text
    assert first.status_code == 202, first.text
    assert first.json()["failback"]["type"] == FAILBACK
    assert vmoves(cancelled)[locked.id] == ("ignored", vmoves(cancelled)[locked.id][1])
    assert "locked" in vmoves(cancelled)[locked.id][1]
    assert twice.status_code == 409 and "already under way" in twice.text, twice.text
    assert cancel.status_code == 202, cancel.text
    assert (cancelled.notification.status, (cancelled.notification.status_reason or "")[:12]) == (
        NotificationStatus.FINISHED, "cancelled by")
    assert any(status == "ignored" and "cancelled" in message
               for uuid_, (status, message) in vmoves(cancelled).items() if uuid_ in movable)
    assert nothing_to_cancel.status_code == 409, nothing_to_cancel.text
    assert second.status_code == 202 and moved.notification.status is NotificationStatus.FINISHED, moved.notification
    assert third.status_code == 202 and third.json()["failback"]["status"] == "finished", third.text
    assert {item["id"] for item in listed} >= {cancelled.notification.id, moved.notification.id}
    assert {item["type"] for item in shown} == {"live_migration"}
    assert unknown.status_code == 404, unknown.text
    assert {uuid_: where[uuid_] for uuid_ in movable} == dict.fromkeys(movable, failed)
    assert where[locked.id] != failed
    assert migrations == {**dict.fromkeys(movable, 1), locked.id: 0}  # each moved back exactly once


def busy_segment(recoveries: Recoveries, segment_name: str, call: Any, host: str) -> requests.Response:
    """A failback asked while a host recovery of the segment is under way (a new one in the gateway's journal,
    of another host of the segment: it never reaches the queues), which ends ignored after."""
    busy = NewNotification(id=str(uuid.uuid4()), type=FailureType.COMPUTE_HOST.value, hostname="fb-other",
                           generated_time=utc_now(), payload=STOPPED, source="fb-test", segment=segment_name)
    recoveries.journal.record_notification(busy, dedup_window=timedelta(0), terminal_within=timedelta(minutes=5))
    try:
        return call("POST", f"hosts/{host}/failback")  # type: ignore[no-any-return]
    finally:
        recoveries.journal.set_status(busy.id, NotificationStatus.IGNORED, "fb-test: not a real failure")


def test_auto_failback_after_the_return_to_service(
        admin_conn: Any, cloud_layout: Layout, recoveries: Recoveries, failed: str) -> None:
    conn = admin_conn
    metadata = {"vmha:recovery_method": "auto", "vmha:return_to_service": "auto", "vmha:failback": "auto"}
    with segment(conn, (failed,), metadata, prefix="fb"):
        [server] = helpers.boot_servers(conn, failed, 1, f"fb-{uuid.uuid4().hex[:6]}", metadata=FB_HA)
        try:
            nid, _ = recover_then_start(conn, cloud_layout, recoveries, server, failed)

            def back() -> bool:
                found = conn.compute.get_server(server.id)
                return bool(found.compute_host == failed and found.status == "ACTIVE" and found.task_state is None)

            assert wait_until(back, 180, 1), conn.compute.get_server(server.id)
            started = [event.message for event in recoveries.detail(nid).events if event.step_id == "failback"]
            failback_id = started[0].rsplit(" ", 1)[-1]
            done = recoveries.wait_ended(failback_id, 60)
            migrations = actions(conn, server)["live-migration"]
        finally:
            put_back(cloud_layout, conn, failed)
            helpers.delete_servers(conn, [server])
    assert started[0].startswith("failback started: notification"), started
    assert (done.notification.type, done.notification.payload["by"], done.notification.payload["recovery"]) == (
        FAILBACK, "auto", nid)
    assert done.notification.status is NotificationStatus.FINISHED, done.notification
    assert vmoves(done)[server.id] == ("succeeded", f"back on {failed}")  # the host may hold other tests' servers
    assert migrations == 1
