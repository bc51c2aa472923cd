"""`vmha monitor instance` on real QEMU guests (libvirt's system QEMU driver, tests/cloud/qemu_libvirtd.py):
a guest whose QEMU process is SIGKILLed and guests that power themselves off, notifications read back from a
real Zaqar queue. Masakari's engine recovers only the first (LIFECYCLE/STOPPED_FAILED); the monitor
reports a guest's own power-off as STOPPED_SHUTDOWN, as masakari-instancemonitor does, for intake to ignore."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests import monitors_support as support
from tests.integration import kvm_support
from tests.integration.kvm_support import Hypervisor, guest_command, guests, kill_qemu, wait_for_events
from tests.monitors_support import monitor_settings, wait_until
from vmha.contracts import parse_notification
from vmha.monitors import runner

pytestmark = pytest.mark.kvm
zaqar, queue = support.zaqar, support.queue  # fixtures shared by the monitor tests
hypervisor = kvm_support.hypervisor


def test_killed_qemu_and_guest_power_offs_become_notifications(
        tmp_path: Path, hypervisor: Hypervisor, zaqar: Any, queue: str) -> None:
    state = tmp_path / "state"
    settings = monitor_settings(state, queue, cloud="vmha-admin", libvirt_uri=hypervisor.uri,
                                sink={"retry_initial_seconds": 0.05, "retry_max_seconds": 0.5})
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=("instance", settings), kwargs={"stop": stop})
    with guests(hypervisor, tmp_path / "consoles", 4) as (killed, powered_off, shut_down, destroyed):
        thread.start()
        try:
            assert wait_until((state / "instance.health").exists, 30)
            doms = [killed, powered_off, shut_down, destroyed]
            kill_qemu(hypervisor, killed)
            wait_for_events(zaqar, queue, doms, 1)
            guest_command(powered_off, "poweroff")  # the guest's kernel powers the machine off (ACPI)
            wait_for_events(zaqar, queue, doms, 2)
            shut_down.shutdownFlags(libvirt.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT)  # qemu-ga's guest-shutdown
            wait_for_events(zaqar, queue, doms, 3)
            destroyed.destroy()  # a last reported event: everything before it has been handled
            bodies = wait_for_events(zaqar, queue, doms, 4)
        finally:
            stop.set()
            thread.join(30)
        seen = [(body["payload"]["instance_uuid"], body["payload"]["event"], body["payload"]["vir_domain_event"])
                for body in bodies]
        assert seen == [
            (killed.UUIDString(), "LIFECYCLE", "STOPPED_FAILED"),
            (powered_off.UUIDString(), "LIFECYCLE", "STOPPED_SHUTDOWN"),
            (shut_down.UUIDString(), "LIFECYCLE", "STOPPED_SHUTDOWN"),
            (destroyed.UUIDString(), "LIFECYCLE", "STOPPED_DESTROYED"),
        ]
        assert {dom.state()[0] for dom in (killed, powered_off, shut_down, destroyed)} == {libvirt.VIR_DOMAIN_SHUTOFF}
    for body in bodies:
        notification = parse_notification(body)
        assert (notification.hostname, notification.source) == ("compute1", "vmha-monitor/instance@compute1")
