"""`vmha monitor host` on the local cloud's etcd and Redis: one monitor process per fake host; a killed host
(nova-compute and monitor) is reported once by the leader, and a killed leader by its successor."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.cloud.procs import wait_until
from tests.host_monitor_support import HostMonitors, backend_url
from tests.monitors_support import queue, zaqar  # noqa: F401 (fixtures)
from vmha.fencing import load_fencing_config, power_driver
from vmha.monitors.host.coordination import SegmentGroup, group_url


@pytest.fixture(params=["etcd", "redis"])
def monitors(request: pytest.FixtureRequest, cloud_layout: Layout, admin_conn: Any, tmp_path: Path,
             queue: str) -> Iterator[HostMonitors]:  # noqa: F811
    made = HostMonitors(cloud_layout, request.param, tmp_path, queue)
    try:
        for host in COMPUTE_HOSTS:
            made.start(host)
        made.wait_joined(list(COMPUTE_HOSTS))
        yield made
    finally:
        made.stop(admin_conn)


def _report_ids(monitors: HostMonitors, zaqar: Any, host: str) -> set[str]:  # noqa: F811
    return {body["id"] for body in monitors.reports(zaqar, host)}


def test_a_killed_host_is_reported_once_then_a_killed_leader_by_the_next_one(
        monitors: HostMonitors, zaqar: Any) -> None:  # noqa: F811
    first = COMPUTE_HOSTS[0]
    monitors.kill(first)
    report = monitors.one_report(zaqar, first)
    assert report["type"] == "COMPUTE_HOST"
    # Nova lost it but its BMC still says on: the report does not claim the power is off
    assert report["payload"] == {"event": "STOPPED", "host_status": "UNKNOWN", "cluster_status": "OFFLINE"}
    leader = report["source"].removeprefix("vmha-monitor/host@")
    assert leader in COMPUTE_HOSTS and leader != first
    power_driver(load_fencing_config(monitors.layout.fencing_yaml)[leader]).power_off()  # a power loss
    monitors.kill(leader)
    second = monitors.one_report(zaqar, leader)
    assert second["payload"]["host_status"] == "NORMAL"  # its BMC says off: proof
    successor = second["source"].removeprefix("vmha-monitor/host@")
    assert successor not in (first, leader)
    assert second["id"] != report["id"]
    assert _report_ids(monitors, zaqar, first) == {report["id"]}  # the new leader did not report it anew
    for host in COMPUTE_HOSTS:
        assert not any(body["source"].endswith(f"@{host}") and body["hostname"] == host
                       for body in monitors.reports(zaqar, host))  # nobody reports itself


@pytest.mark.parametrize("backend", ["etcd", "redis"])
def test_enrollments_outlive_a_dead_member_and_go_with_a_clean_stop(cloud_layout: Layout, backend: str) -> None:
    run = uuid.uuid4().hex[:8]
    url = group_url(backend_url(cloud_layout, backend, run), 1.0, 3)
    name = f"vmha-segment-test-{run}"
    host, dotted, dead = (SegmentGroup(url, name, me) for me in ("node1", "node1.rack2", "node3"))
    try:
        for member in (host, dotted, dead):
            member.heartbeat()
        dead._coordinator.stop()  # dies: its membership goes, its enrollment stays
        assert wait_until(lambda: "node3" not in host.members(), 10, 0.25)
        assert sorted(host.enrolled()) == sorted(
            [("node1", host.incarnation), ("node1.rack2", dotted.incarnation), ("node3", dead.incarnation)])
        host.stop()  # a clean stop: no departure, and the host named like it keeps its enrollment
        dotted.discharge(f"node3.{dead.incarnation}")  # reported: every later leader drops it
        assert dotted.enrolled() == [("node1.rack2", dotted.incarnation)]
    finally:
        dotted.stop()
