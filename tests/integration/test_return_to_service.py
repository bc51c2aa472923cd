"""Return to service (issue 18 item 1) on the local cloud: a host killed and recovered by a real `vmha gateway`
(fenced through its Redfish BMC emulator, its HA server evacuated), then powered on and started again. The
host is one no other test's segment holds (compute4 or compute3 preferred), alone in its segment. With
``vmha:return_to_service`` ``auto`` the gateway's periodic look puts it back into service by itself; with the
default ``manual`` the look records it and changes nothing, until ``POST /v1/hosts/{name}/return`` does."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.cloud import helpers
from tests.cloud.layout import Layout
from tests.cloud.procs import wait_until
from vmha.cloud.segments import disabling_notification
from vmha.contracts import HostEvent, HostPayload, HostStatus
from vmha.demo.hosts import free_hosts, return_to_service, taken_hosts
from vmha.journal import NotificationDetail, NotificationStatus, StepStatus

from .recovery_support import HA, Recoveries, actions, segment

PREFERRED = ("compute4", "compute3", "compute2", "compute1")  # the hosts the other tests name least
HOST_DOWN = HostPayload(HostEvent.STOPPED, HostStatus.NORMAL)
_LISTENING = re.compile(r'"message": "http endpoint listening", "url": "([^"]+)"')


@pytest.fixture
def recoveries(tmp_path: Path, admin_conn: Any, cloud_layout: Layout) -> Iterator[Recoveries]:
    made = Recoveries(tmp_path, admin_conn, cloud_layout, gateway={"sweep_interval_seconds": 2},
                      host_failure={"evacuate_all_instances": False, "mass_failure_share": 1})
    yield made
    made.close()


@pytest.fixture
def failed(admin_conn: Any) -> str:
    """A compute host that is up, enabled and in no segment, waited for: the four hosts are shared."""
    def free() -> list[str]:
        found = free_hosts(admin_conn, taken_hosts(admin_conn))
        return sorted(found, key=lambda host: PREFERRED.index(host) if host in PREFERRED else len(PREFERRED))
    assert wait_until(lambda: bool(free()), 600, 5), "every compute host is in another test's segment or down"
    return free()[0]


def put_back(layout: Layout, conn: Any, host: str) -> None:
    """Whatever the test left: the host running, powered on, un-forced and enabled."""
    if helpers.host_is_running(layout, host):
        return_to_service(conn, host)
    else:
        helpers.restore_host(layout, conn, host)


def recover_then_start(conn: Any, layout: Layout, recoveries: Recoveries, server: Any,
                       failed: str) -> tuple[str, Any]:
    """Kill ``failed``, wait until its recovery finished and the server runs elsewhere, then start it again."""
    gateway = recoveries.start()
    recoveries.wait_ready(gateway)
    helpers.kill_host(layout, failed)
    nid = recoveries.notify(failed, HOST_DOWN)
    helpers.wait_evacuated(conn, server, failed)
    detail = recoveries.wait_ended(nid)
    assert detail.notification.status is NotificationStatus.FINISHED, detail.notification.status_reason
    assert helpers.compute_service(conn, failed).is_forced_down
    helpers.start_host(layout, failed)
    return nid, gateway


def record(detail: NotificationDetail, kind: str) -> Any:
    return next((run for run in detail.steps if run.key.step_id == kind), None)


def back_in_service(conn: Any, failed: str) -> bool:
    service = helpers.compute_service(conn, failed)
    return bool(not service.is_forced_down and service.status == "enabled" and not service.disabled_reason)


def returned(recoveries: Recoveries, nid: str) -> bool:
    """The return's record is written: the look enables the service first, then records it."""
    found = record(recoveries.detail(nid), "return_to_service")
    return found is not None and found.status is StepStatus.SUCCEEDED


def test_auto_returns_the_recovered_host_once_it_is_back(
        admin_conn: Any, cloud_layout: Layout, recoveries: Recoveries, failed: str) -> None:
    conn = admin_conn
    with segment(conn, (failed,), {"vmha:recovery_method": "auto", "vmha:return_to_service": "auto"}):
        [server] = helpers.boot_servers(conn, failed, 1, f"vmha-return-{uuid.uuid4().hex[:6]}", metadata=HA)
        try:
            nid, _ = recover_then_start(conn, cloud_layout, recoveries, server, failed)
            started = time.monotonic()
            assert wait_until(lambda: back_in_service(conn, failed), 120, 1), helpers.compute_service(conn, failed)
            print(f"\nauto return: back in service {time.monotonic() - started:.1f} s after the host started")
            assert wait_until(lambda: returned(recoveries, nid), 30, 0.5), record(recoveries.detail(nid),
                                                                                   "return_to_service")
            detail = recoveries.detail(nid)
            moved = conn.compute.get_server(server.id)
            evacuations = actions(conn, server)["evacuate"]
        finally:
            put_back(cloud_layout, conn, failed)
            helpers.delete_servers(conn, [server])
    done = record(detail, "return_to_service")
    assert (done.result["by"], done.result["enabled"]) == ("auto", True)
    assert record(detail, "return_held") is None
    assert any(event.step_id == "return_to_service" and "back in service" in event.message for event in detail.events)
    assert (moved.status, evacuations) == ("ACTIVE", 1)
    assert moved.compute_host != failed  # the return started nothing on the host


def test_manual_records_the_return_and_changes_nothing_until_the_api_returns_it(
        admin_conn: Any, cloud_layout: Layout, recoveries: Recoveries, failed: str) -> None:
    conn = admin_conn
    with segment(conn, (failed,), {"vmha:recovery_method": "auto"}):
        [server] = helpers.boot_servers(conn, failed, 1, f"vmha-return-{uuid.uuid4().hex[:6]}", metadata=HA)
        try:
            nid, gateway = recover_then_start(conn, cloud_layout, recoveries, server, failed)
            assert wait_until(lambda: record(recoveries.detail(nid), "return_held") is not None, 120, 1)
            time.sleep(8)  # more looks and reports: still nothing changed
            service = helpers.compute_service(conn, failed)
            held = recoveries.detail(nid)
            call = api(conn, recoveries, gateway)
            unknown = call(f"vmha-nohost-{uuid.uuid4().hex[:6]}")
            first = call(failed)
            assert wait_until(lambda: back_in_service(conn, failed), 120, 1), helpers.compute_service(conn, failed)
            assert wait_until(lambda: returned(recoveries, nid), 30, 0.5), record(recoveries.detail(nid),
                                                                                   "return_to_service")
            detail = recoveries.detail(nid)
            again = call(failed)
        finally:
            put_back(cloud_layout, conn, failed)
            helpers.delete_servers(conn, [server])
    assert "manual" in record(held, "return_held").result["reason"]
    assert (service.is_forced_down, service.status, disabling_notification(service)) == (True, "disabled", nid)
    assert record(held, "return_to_service") is None
    assert unknown.status_code == 404, unknown.text
    assert first.status_code in (200, 202), first.text
    assert first.json()["return"]["notification_id"] == nid
    assert record(detail, "return_to_service").result["by"] == "operator"
    assert again.status_code == 409, again.text  # back in service: nothing left to return


def api(conn: Any, recoveries: Recoveries, gateway: subprocess.Popen[bytes]) -> Any:
    """POST /v1/hosts/{host}/return on the gateway with the admin's token."""
    found = _LISTENING.search(recoveries.log_of(gateway))
    assert found is not None
    url, token = found.group(1), conn.session.get_token()

    def call(host: str) -> requests.Response:
        return requests.post(f"{url}/v1/hosts/{host}/return", headers={"X-Auth-Token": token}, timeout=60)

    return call
