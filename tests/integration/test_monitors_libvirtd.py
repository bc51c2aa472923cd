"""`vmha monitor instance` across libvirtd crashes and restarts: a real private libvirtd (test driver over its
unix socket), notifications read back from a real Zaqar queue."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt

from tests import monitors_support as support
from tests.libvirtd_support import node_xml, private_libvirtd
from tests.monitors_support import monitor_settings, wait_for_bodies, wait_until
from vmha.monitors import runner

zaqar, queue = support.zaqar, support.queue  # fixtures shared by the monitor tests
RUNNING, SHUT_OFF = libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_SHUTOFF
DEFAULT_DOMAIN = "test"
"""The domain the test driver's /default instance starts with, running."""


@contextlib.contextmanager
def instance_monitor(state: Path, queue: str, uri: str) -> Iterator[Path]:
    """`vmha monitor instance` on ``uri`` in a thread; yields its domain-state file, which it rewrites on
    every (re)connection."""
    settings = monitor_settings(state, queue, cloud="vmha-admin", libvirt_uri=uri,
                                instance={"reconnect_seconds": 0.2, "keepalive_interval_seconds": 1},
                                sink={"retry_initial_seconds": 0.05, "retry_max_seconds": 0.5})
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=("instance", settings), kwargs={"stop": stop})
    thread.start()
    try:
        assert wait_until((state / "domains.json").exists, 30)
        yield state / "domains.json"
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def summary(bodies: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(body["payload"]["instance_uuid"], body["payload"]["event"], body["payload"]["vir_domain_event"])
            for body in bodies]


def test_an_event_after_a_libvirtd_restart_still_becomes_a_notification(
        tmp_path: Path, zaqar: Any, queue: str) -> None:
    with private_libvirtd(tmp_path / "libvirtd") as daemon, \
            instance_monitor(tmp_path / "state", queue, daemon.uri) as states:
        daemon.kill()
        before = states.stat().st_mtime_ns
        daemon.start()
        assert wait_until(lambda: states.stat().st_mtime_ns != before, 30)  # reconnected and listening again
        conn = libvirt.open(daemon.uri)
        try:
            domain = conn.lookupByName(DEFAULT_DOMAIN)
            domain.destroy()
            expected = (domain.UUIDString(), "LIFECYCLE", "STOPPED_DESTROYED")
        finally:
            conn.close()
        bodies = wait_for_bodies(zaqar, queue, 1)
    assert summary(bodies) == [expected]


def test_a_guest_that_failed_while_libvirtd_was_down_is_reported_on_reconnection(
        tmp_path: Path, zaqar: Any, queue: str) -> None:
    failed, running, node = str(uuid.uuid4()), str(uuid.uuid4()), tmp_path / "node.xml"
    node.write_text(node_xml({"failed": (failed, RUNNING), "running": (running, RUNNING)}))
    with private_libvirtd(tmp_path / "libvirtd") as daemon, \
            instance_monitor(tmp_path / "state", queue, daemon.file_uri(node)) as states:
        daemon.kill()
        # While libvirtd is down one guest dies: the restarted daemon shows it shut off (reason unknown).
        node.write_text(node_xml({"failed": (failed, SHUT_OFF), "running": (running, RUNNING)}))
        before = states.stat().st_mtime_ns
        daemon.start()
        assert wait_until(lambda: states.stat().st_mtime_ns != before, 30)
        bodies = wait_for_bodies(zaqar, queue, 1)
    assert summary(bodies) == [(failed, "LIFECYCLE", "STOPPED_FAILED")]
