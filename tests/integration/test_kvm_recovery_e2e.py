"""Issue 19 item 3: vmha recovers real QEMU guests run by Nova's libvirt driver (the kvm profile,
tests/cloud/kvm_hosts.py, added to the running cloud on first use). A kvm host dies (its nova-compute and its
host monitor killed); the other host's monitor reports it, vmha fences it through its BMC emulator, whose
power-off destroys the host's guests, and evacuates the HA servers, which Nova rebuilds on the other kvm host
from the shared instances directory, their guest agents answering there. Then one guest's QEMU is SIGKILLed
and vmha restarts it through Nova."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt
import pytest

from tests.cloud import cloud, helpers, kvm_hosts, qemu_libvirtd
from tests.cloud.layout import KVM_HOSTS, Layout
from tests.cloud.procs import wait_until
from tests.host_monitor_support import DEADLINE, HostMonitors
from tests.integration.kvm_support import answers
from vmha.contracts import VirDomainEvent, VmEvent, VmPayload
from vmha.journal import FenceMethod, NotificationFilter, NotificationStatus

from .recovery_support import HA, Recoveries, segment

pytestmark = pytest.mark.kvm
FAILED, TARGET = KVM_HOSTS
BOOT_SECONDS = 180.0  # two TCG guests booting on the machine's 2 vCPUs, other tests running beside


@pytest.fixture(scope="module")
def kvm_layout(cloud_layout: Layout) -> Layout:
    """The cloud with the kvm profile's hosts (added now when the cloud was brought up without them)."""
    if not kvm_hosts.enabled(cloud_layout) or cloud.needs_up(cloud_layout):
        cloud.up_kvm(cloud_layout)
    return cloud_layout


@pytest.fixture
def recoveries(tmp_path: Path, admin_conn: Any, kvm_layout: Layout) -> Iterator[Recoveries]:
    made = Recoveries(tmp_path, admin_conn, kvm_layout, fencing_file=str(kvm_hosts.fencing_yaml(kvm_layout)))
    yield made
    made.close()


def domain(layout: Layout, server: Any) -> Any:
    """The server's libvirt domain on the libvirtd of the host Nova places it on."""
    conn = libvirt.open(kvm_hosts.libvirt_uri(layout, server.compute_host))
    return conn.lookupByName(server.instance_name)


def agents_answer(layout: Layout, servers: list[Any]) -> bool:
    """Whether every server's guest agent answers a ping through libvirt, waiting for slow boots."""
    domains = [domain(layout, server) for server in servers]
    return wait_until(lambda: all(answers(dom) for dom in domains), BOOT_SECONDS, 0.5)


def disks(layout: Layout, servers: list[Any]) -> dict[str, int]:
    """Each server's root disk file on the shared instances path, by inode: a rebuild that recognises the
    shared storage reuses it, one that does not makes a new disk from the image."""
    return {server.id: (kvm_hosts.instances_path(layout) / server.id / "disk").stat().st_ino for server in servers}


def reported_down(recoveries: Recoveries, host: str) -> str:
    """The id of the host monitors' notification about ``host``, once the gateway has taken it in."""
    found: tuple[Any, ...] = ()

    def taken_in() -> bool:
        nonlocal found
        found = recoveries.journal.list_notifications(NotificationFilter(hostname=host))
        return bool(found)

    assert wait_until(taken_in, DEADLINE + 30, 0.25), f"no notification about {host}; logs in {recoveries.logs}"
    return str(found[0].id)


def test_kvm_host_failure_then_vm_failure_recovered_on_real_guests(
        tmp_path: Path, admin_conn: Any, kvm_layout: Layout, recoveries: Recoveries) -> None:
    conn, layout, name = admin_conn, kvm_layout, f"kvm-e2e-{uuid.uuid4().hex[:6]}"
    (tmp_path / "monitors").mkdir()
    monitors = HostMonitors(layout, "etcd", tmp_path / "monitors", recoveries.queues["notifications"])
    with segment(conn, KVM_HOSTS, {"vmha:recovery_method": "auto"}):
        gateway = recoveries.start()  # the gateway and the host monitors start while the guests boot
        for host in KVM_HOSTS:
            monitors.start(host, settings={"VMHA_FENCING_FILE": str(kvm_hosts.fencing_yaml(layout))})
        servers = helpers.boot_servers(conn, FAILED, 2, name, metadata=HA, image_name=kvm_hosts.IMAGE_NAME,
                                       flavor_name=kvm_hosts.FLAVOR_NAME, timeout=BOOT_SECONDS)
        try:
            booted = agents_answer(layout, servers)
            nodes = {server.hypervisor_hostname for server in servers}
            disks_before = disks(layout, servers)
            recoveries.wait_ready(gateway)
            monitors.wait_joined(list(KVM_HOSTS))
            posted = monitors.kill(FAILED)  # its nova-compute and its host monitor
            host_down = reported_down(recoveries, FAILED)
            reported = time.monotonic() - posted
            moved = [helpers.wait_evacuated(conn, server, FAILED, BOOT_SECONDS) for server in servers]
            evacuated = time.monotonic() - posted
            disks_after = disks(layout, moved)
            host_detail = recoveries.wait_ended(host_down)
            fence = recoveries.journal.get_fence(host_down, FAILED)
            left_running = kvm_hosts.domains(layout, FAILED)
            evacuated_answer = agents_answer(layout, moved)
            answering = time.monotonic() - posted
            victim = moved[0]
            os.kill(qemu_libvirtd.qemu_pid(layout, victim.instance_name, kvm_hosts.libvirtd_name(TARGET)),
                    signal.SIGKILL)
            killed = time.monotonic()
            failed = VmPayload(VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED, uuid.UUID(victim.id))
            vm_detail = recoveries.wait_ended(recoveries.notify(TARGET, failed))
            restarted = conn.compute.get_server(victim.id)
            restarted_answers = agents_answer(layout, [restarted])
            print(f"\nkvm recovery: {FAILED} reported down {reported:.1f} s after it was killed, {len(moved)} guests "
                  f"ACTIVE on {TARGET} after {evacuated:.1f} s, agents answering after {answering:.1f} s; the killed "
                  "guest's agent answered "
                  f"{time.monotonic() - killed:.1f} s after its QEMU was killed")
        finally:
            monitors.stop(conn)  # and restores the killed host
            helpers.delete_servers(conn, servers)
    # Each kvm host's own libvirtd answers getHostname() with the host's name, which Nova names its node after.
    assert [libvirt.open(kvm_hosts.libvirt_uri(layout, host)).getHostname() for host in KVM_HOSTS] == list(KVM_HOSTS)
    assert nodes == {FAILED}
    assert booted, "the guests' agents did not answer on the kvm host"
    assert host_detail.notification.status is NotificationStatus.FINISHED, host_detail.notification.status_reason
    assert fence is not None and fence.method is FenceMethod.REDFISH and fence.proves_death
    assert left_running == [], "the fenced host's guests still run"
    assert {server.compute_host for server in moved} == {TARGET}
    assert disks_after == disks_before, "the rebuild made new disks instead of using those on shared storage"
    assert evacuated_answer, "the evacuated guests' agents do not answer on the other host"
    assert vm_detail.notification.status is NotificationStatus.FINISHED, vm_detail.notification.status_reason
    assert (restarted.status, restarted.task_state, restarted.compute_host) == ("ACTIVE", None, TARGET)
    assert restarted_answers, "the restarted guest's agent does not answer"
