"""The instance monitor on libvirt's in-process test driver (real libvirt, no daemon), into a memory sink."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.monitors_support import TEST_URI, agent_domains, monitor_settings, wait_until
from vmha.contracts import Notification, VirDomainEvent, VmEvent, VmPayload
from vmha.monitors.instance import InstanceMonitor
from vmha.monitors.sink import MemorySink, Reporter


@pytest.fixture
def domains(tmp_path: Path) -> Iterator[list[Any]]:
    with agent_domains([tmp_path / f"unused-{index}.sock" for index in range(4)], "inst") as created:
        yield created


def make_monitor(state_dir: Path) -> tuple[InstanceMonitor, MemorySink]:
    sink = MemorySink()
    state_dir.mkdir(exist_ok=True)
    options = monitor_settings(state_dir).monitor
    return InstanceMonitor(TEST_URI, Reporter(sink, "compute1", "instance"), state_dir / "domains.json",
                           options.instance), sink


def payloads(notifications: list[Notification], domains: list[Any]) -> list[tuple[str, str, str]]:
    """(domain name, event, vir_domain_event) of the notifications about ``domains``."""
    names = {uuid.UUID(dom.UUIDString()): dom.name() for dom in domains}
    result = []
    for notification in notifications:
        payload = notification.payload
        assert isinstance(payload, VmPayload)
        if payload.instance_uuid in names:
            result.append((names[payload.instance_uuid], payload.event.value, payload.vir_domain_event.value))
    return result


def test_destroy_and_shutdown_are_reported_suspend_and_crash_are_not(tmp_path: Path, domains: list[Any]) -> None:
    monitor, sink = make_monitor(tmp_path)
    stop, beats = threading.Event(), []
    thread = threading.Thread(target=monitor.run, args=(stop, lambda: beats.append(1)))
    thread.start()
    try:
        assert wait_until(lambda: len(beats) >= 1, 10)
        first, second, third, fourth = domains
        first.destroy()
        second.shutdown()
        third.suspend()
        fourth.coreDumpWithFormat(str(tmp_path / "core"), 0, libvirt.VIR_DUMP_CRASH)  # STOPPED_CRASHED
        third.resume()
        third.destroy()  # after the filtered ones: once it is in, everything before it was seen
        assert wait_until(lambda: len(payloads(sink.notifications, domains)) >= 3, 10)
    finally:
        stop.set()
        thread.join(10)
    assert payloads(sink.notifications, domains) == [
        (first.name(), "LIFECYCLE", "STOPPED_DESTROYED"),
        (second.name(), "LIFECYCLE", "STOPPED_SHUTDOWN"),
        (third.name(), "LIFECYCLE", "STOPPED_DESTROYED"),
    ]
    notification = sink.notifications[0]
    assert notification.hostname == "compute1" and notification.source == "vmha-monitor/instance@compute1"


def test_failures_while_not_listening_are_reported_on_the_next_pass(tmp_path: Path, domains: list[Any]) -> None:
    monitor, sink = make_monitor(tmp_path)
    monitor.once()  # learns the states
    assert payloads(sink.notifications, domains) == []
    first, second, third, _ = domains
    first.destroy()
    second.coreDumpWithFormat(str(tmp_path / "core"), 0, libvirt.VIR_DUMP_CRASH)
    third.suspend()
    restarted, restarted_sink = make_monitor(tmp_path)  # a new monitor process: states come from disk
    restarted.once()
    assert sorted(payloads(restarted_sink.notifications, domains)) == sorted([
        (first.name(), "LIFECYCLE", "STOPPED_DESTROYED"),
        # Shut off with reason "crashed": after a gap it cannot be told from a dead QEMU, the actionable event.
        (second.name(), "LIFECYCLE", "STOPPED_FAILED"),
    ])
    restarted.once()
    assert len(payloads(restarted_sink.notifications, domains)) == 2  # reported once, not on every pass


def test_the_instance_uuid_is_the_domain_uuid(tmp_path: Path, domains: list[Any]) -> None:
    monitor, sink = make_monitor(tmp_path)
    monitor.once()
    domains[0].destroy()
    monitor.once()
    [notification] = [n for n in sink.notifications if isinstance(n.payload, VmPayload)
                      and str(n.payload.instance_uuid) == domains[0].UUIDString()]
    assert notification.payload == VmPayload(VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_DESTROYED,
                                             uuid.UUID(domains[0].UUIDString()))
