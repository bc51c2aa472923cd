"""`vmha monitor introspective` with its default transport, libvirt (virDomainQemuAgentCommand), on real QEMU
guests whose qemu-ga answers on virtio-serial: a stopped agent and a panicked guest are reported once, a
healthy guest never; the ``metadata`` and ``nova`` opt-in modes watch only the guests they select.
QEMU_GUEST_AGENT_ERROR notifications are read back from a real Zaqar queue."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import monitors_support as support
from tests.cloud import helpers
from tests.integration import kvm_support
from tests.integration.kvm_support import Hypervisor, guest_command, guests, only_these
from tests.integration.test_monitors_introspective import phases, reported_uuids, wait_rounds
from tests.integration.test_monitors_nova_opt_in import an_up_host
from tests.monitors_support import monitor_settings, monitor_thread, queue_bodies, wait_for_bodies, wait_until
from vmha.monitors.agents import METADATA_NAMESPACE, agent_socket

MISSES = 3  # with the default 2 s timeout: a TCG guest on a busy machine may miss one or two 1 s pings

pytestmark = pytest.mark.kvm
zaqar, queue = support.zaqar, support.queue  # fixtures shared by the monitor tests
hypervisor = kvm_support.hypervisor


@contextlib.contextmanager
def running_monitor(state: Path, queue: str, hypervisor: Hypervisor, doms: list[Any], hostname: str = "compute1",
                    **introspective: Any) -> Iterator[None]:
    """The monitor with its default transport on the QEMU libvirtd, watching ``doms`` alone (their agent
    channels are where Nova puts them: the default socket pattern matches them)."""
    default = monitor_settings(state).monitor.introspective
    assert default.transport == "libvirt"
    for dom in doms:
        assert re.fullmatch(default.socket_path_pattern, agent_socket(dom.XMLDesc(0), default.channel_name) or "")
    settings = monitor_settings(
        state, queue, cloud="vmha-admin", libvirt_uri=hypervisor.uri, hostname=hostname,
        sink={"retry_initial_seconds": 0.05, "retry_max_seconds": 0.5},
        introspective={"misses": MISSES, "interval_seconds": 0.5, "timeout_seconds": 2,
                       "socket_path_pattern": only_these(doms), **introspective})
    with monitor_thread("introspective", settings):
        yield


def test_stopped_agent_and_panicked_guest_are_reported_once_a_healthy_guest_never(
        tmp_path: Path, hypervisor: Hypervisor, zaqar: Any, queue: str) -> None:
    state = tmp_path / "state"
    with guests(hypervisor, tmp_path / "consoles", 3) as doms, running_monitor(state, queue, hypervisor, doms):
        stopped, panicked, healthy = doms
        uuids = [dom.UUIDString() for dom in (stopped, panicked, healthy)]
        assert wait_until(lambda: [phases(state).get(u) for u in uuids] == ["healthy"] * 3, 60)
        guest_command(stopped, "stop-agent")  # SIGSTOP of qemu-ga inside the guest
        guest_command(panicked, "panic")  # sysrq crash; the kernel hangs (panic=0), QEMU runs on
        wait_for_bodies(zaqar, queue, 2, timeout=60)
        wait_rounds(state, MISSES)  # more misses must not report again
        assert sorted(reported_uuids(queue_bodies(zaqar, queue))) == sorted(uuids[:2])
        assert phases(state)[uuids[2]] == "healthy"
        assert panicked.isActive() and stopped.isActive()


def test_metadata_mode_watches_only_guests_whose_domain_opted_in(
        tmp_path: Path, hypervisor: Hypervisor, zaqar: Any, queue: str) -> None:
    state = tmp_path / "state"
    opted = f"<vmha:heartbeat xmlns:vmha='{METADATA_NAMESPACE}' enabled='true'/>"
    declined = f"<vmha:heartbeat xmlns:vmha='{METADATA_NAMESPACE}' enabled='false'/>"
    with guests(hypervisor, tmp_path / "consoles", 3, metadata=(opted, declined, "")) as doms, \
            running_monitor(state, queue, hypervisor, doms, opt_in="metadata"):
        watched, *ignored = (dom.UUIDString() for dom in doms)
        assert wait_until(lambda: phases(state).get(watched) == "healthy", 60)
        for dom in doms:
            guest_command(dom, "stop-agent")
        bodies = wait_for_bodies(zaqar, queue, 1, timeout=60)
        wait_rounds(state, MISSES)
        assert set(phases(state)) == {watched}
        assert reported_uuids(queue_bodies(zaqar, queue)) == [watched] == reported_uuids(bodies)
    assert ignored


def test_nova_mode_watches_only_guests_whose_server_is_ha_enabled(
        tmp_path: Path, hypervisor: Hypervisor, admin_conn: Any, zaqar: Any, queue: str) -> None:
    """Nova's records are fake-driver servers (Nova on KVM is not part of the local cloud yet); each guest takes
    its server's uuid, as Nova names a domain after its instance."""
    host, prefix = an_up_host(admin_conn), f"vmha-kvm-optin-{uuid.uuid4().hex[:6]}"
    servers: list[Any] = []
    state = tmp_path / "state"
    try:
        servers += helpers.boot_servers(admin_conn, host, 1, prefix + "-ha", metadata={"HA_Enabled": "True"})
        servers += helpers.boot_servers(admin_conn, host, 1, prefix + "-plain", metadata={"HA_Enabled": "no"})
        ids = tuple(server.id for server in servers)
        with guests(hypervisor, tmp_path / "consoles", uuids=(*ids, str(uuid.uuid4()))) as doms, \
                running_monitor(state, queue, hypervisor, doms, opt_in="nova", hostname=host):
            enabled = ids[0]
            assert wait_until(lambda: phases(state).get(enabled) == "healthy", 60)
            for dom in doms:
                guest_command(dom, "stop-agent")
            bodies = wait_for_bodies(zaqar, queue, 1, timeout=60)
            wait_rounds(state, MISSES)
            assert set(phases(state)) == {enabled}  # the plain server's guest and the unknown guest: never pinged
            reported = [(body["payload"]["instance_uuid"], body["payload"]["event"], body["hostname"])
                        for body in queue_bodies(zaqar, queue)]
            assert reported == [(enabled, "QEMU_GUEST_AGENT_ERROR", host)] and len(bodies) == 1
    finally:
        helpers.delete_servers(admin_conn, servers)
