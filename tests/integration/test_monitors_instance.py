"""`vmha monitor instance` on libvirt's test driver, notifications read back from a real Zaqar queue."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import libvirt

from tests import monitors_support as support
from tests.monitors_support import (
    agent_domains,
    monitor_settings,
    queue_bodies,
    wait_for_bodies,
    wait_until,
)
from vmha.contracts import parse_notification
from vmha.monitors import runner

zaqar, queue = support.zaqar, support.queue  # fixtures shared by the monitor tests


def test_destroyed_and_shut_down_domains_reach_the_queue_filtered_events_do_not(
        tmp_path: Path, zaqar: Any, queue: str) -> None:
    settings = monitor_settings(tmp_path / "state", queue, cloud="vmha-admin",
                                sink={"retry_initial_seconds": 0.05, "retry_max_seconds": 0.5})
    stop = threading.Event()
    with agent_domains([tmp_path / f"none-{index}.sock" for index in range(5)], "zaq") as domains:
        thread = threading.Thread(target=runner.run, args=("instance", settings), kwargs={"stop": stop})
        thread.start()
        try:
            assert wait_until((tmp_path / "state" / "instance.health").exists, 20)
            destroyed, shut_down, suspended, crashed, untouched = domains
            suspended.suspend()  # SUSPENDED_PAUSED: filtered
            crashed.coreDumpWithFormat(str(tmp_path / "core"), 0, libvirt.VIR_DUMP_CRASH)  # STOPPED_CRASHED: filtered
            destroyed.destroy()
            shut_down.shutdown()
            suspended.resume()  # RESUMED: filtered
            bodies = wait_for_bodies(zaqar, queue, 2)
            suspended.destroy()  # a last reported event: everything before it has been handled
            bodies = wait_for_bodies(zaqar, queue, 3)
        finally:
            stop.set()
            thread.join(30)
    by_uuid = {dom.UUIDString(): dom.name() for dom in domains}
    seen = [(by_uuid[body["payload"]["instance_uuid"]], body["payload"]["event"], body["payload"]["vir_domain_event"])
            for body in bodies]
    assert seen == [
        (destroyed.name(), "LIFECYCLE", "STOPPED_DESTROYED"),
        (shut_down.name(), "LIFECYCLE", "STOPPED_SHUTDOWN"),
        (suspended.name(), "LIFECYCLE", "STOPPED_DESTROYED"),
    ]
    for body in bodies:
        notification = parse_notification(body)
        assert (notification.hostname, notification.source) == ("compute1", "vmha-monitor/instance@compute1")
    assert len({body["id"] for body in bodies}) == 3
    assert untouched.name() not in {name for name, _, _ in seen}
    assert len(queue_bodies(zaqar, queue)) == 3
