"""`vmha monitor host` on the local cloud's etcd and Redis: one monitor process per fake host; a killed host
(nova-compute and monitor) is reported once by the leader, and a killed leader by its successor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.layout import COMPUTE_HOSTS, Layout
from tests.host_monitor_support import INTERVAL, MISSES, NOVA_STALE, HostMonitors
from tests.monitors_support import queue, wait_until, zaqar  # noqa: F401 (fixtures)

DEADLINE = INTERVAL * MISSES + NOVA_STALE + 10
"""A report comes after the membership expires and Nova's last report of the host has gone stale."""


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


def _one_report(monitors: HostMonitors, zaqar: Any, host: str) -> dict[str, Any]:  # noqa: F811
    """The host's one report. A message posted again (a leader that stalled, a retried post) carries the
    same id, which the intake drops, so "once" means one notification id."""
    assert wait_until(lambda: bool(monitors.reports(zaqar, host)), DEADLINE, 0.25), \
        {name: monitors.log(name)[-2000:] for name in monitors.processes}
    time.sleep(INTERVAL * MISSES * 2)  # time enough for a duplicate to show
    reports = monitors.reports(zaqar, host)
    assert len(_report_ids(monitors, zaqar, host)) == 1, reports
    return reports[0]


def test_a_killed_host_is_reported_once_then_a_killed_leader_by_the_next_one(
        monitors: HostMonitors, zaqar: Any) -> None:  # noqa: F811
    first = COMPUTE_HOSTS[0]
    monitors.kill(first)
    report = _one_report(monitors, zaqar, first)
    assert report["type"] == "COMPUTE_HOST"
    assert report["payload"] == {"event": "STOPPED", "host_status": "NORMAL", "cluster_status": "OFFLINE"}
    leader = report["source"].removeprefix("vmha-monitor/host@")
    assert leader in COMPUTE_HOSTS and leader != first
    monitors.kill(leader)
    second = _one_report(monitors, zaqar, leader)
    successor = second["source"].removeprefix("vmha-monitor/host@")
    assert successor not in (first, leader)
    assert second["id"] != report["id"]
    assert _report_ids(monitors, zaqar, first) == {report["id"]}  # the new leader did not report it anew
    for host in COMPUTE_HOSTS:
        assert not any(body["source"].endswith(f"@{host}") and body["hostname"] == host
                       for body in monitors.reports(zaqar, host))  # nobody reports itself
