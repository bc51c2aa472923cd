"""`vmha monitor introspective` in opt-in mode nova: only guests whose Nova server has HA_Enabled=True are
pinged. Real Nova servers on a fake compute host, test-driver domains with the servers' uuids whose agent
channels lead to real qemu-ga processes, notifications read back from a real Zaqar queue."""

from __future__ import annotations

import contextlib
import signal
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libvirt

from tests import monitors_support as support
from tests.cloud import helpers
from tests.cloud.layout import COMPUTE_HOSTS
from tests.integration.test_monitors_introspective import phases, wait_rounds
from tests.monitors_support import DOMAIN_XML, TEST_URI, monitor_settings, qemu_agents, wait_for_bodies, wait_until
from vmha.monitors import runner

zaqar, queue = support.zaqar, support.queue  # fixtures shared by the monitor tests


def an_up_host(conn: Any) -> str:
    """A compute host Nova shows up and enabled (another test may have one down)."""
    services = {service.host: service for service in conn.compute.services(binary="nova-compute")}
    return next(host for host in COMPUTE_HOSTS if services[host].state == "up" and services[host].status == "enabled")


@contextlib.contextmanager
def domain(server_id: str, socket: Path) -> Iterator[None]:
    """A running test-driver domain standing for the server, its agent channel on ``socket``."""
    conn = libvirt.open(TEST_URI)
    dom = conn.defineXML(DOMAIN_XML.format(name=f"nova-opt-in-{server_id[:8]}", uuid=server_id, socket=socket))
    try:
        dom.create()
        yield
    finally:
        with contextlib.suppress(libvirt.libvirtError):
            dom.destroy()
        dom.undefine()
        conn.close()


def test_only_guests_whose_server_is_ha_enabled_are_watched_and_reported(
        tmp_path: Path, admin_conn: Any, zaqar: Any, queue: str) -> None:
    host, prefix = an_up_host(admin_conn), f"vmha-optin-{uuid.uuid4().hex[:6]}"
    servers: list[Any] = []
    try:
        servers += helpers.boot_servers(admin_conn, host, 1, prefix + "-ha", metadata={"HA_Enabled": "True"})
        servers += helpers.boot_servers(admin_conn, host, 1, prefix + "-plain", metadata={"HA_Enabled": "no"})
        enabled, plain = (server.id for server in servers)
        settings = monitor_settings(
            tmp_path / "state", queue, cloud="vmha-admin", hostname=host,
            sink={"retry_initial_seconds": 0.05, "retry_max_seconds": 0.5},
            introspective={"transport": "socket", "socket_path_pattern": r".*/agent\.sock", "misses": 2,
                           "interval_seconds": 0.3, "timeout_seconds": 0.5, "opt_in": "nova"})
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=("introspective", settings), kwargs={"stop": stop})
        with qemu_agents(tmp_path / "agents", 3) as agents, domain(enabled, agents[0].socket), \
                domain(plain, agents[1].socket):
            thread.start()
            try:
                assert wait_until(lambda: phases(tmp_path / "state").get(enabled) == "healthy", 60)
                servers += helpers.boot_servers(admin_conn, host, 1, prefix + "-late", metadata={"HA_Enabled": "1"})
                late = servers[-1].id
                with domain(late, agents[2].socket):  # unknown to the last answer: Nova is asked again at once
                    assert wait_until(lambda: phases(tmp_path / "state").get(late) == "healthy", 30)
                    wait_rounds(tmp_path / "state", 2)
                    assert set(phases(tmp_path / "state")) == {enabled, late}  # the plain guest is never pinged
                    for agent in agents:
                        agent.signal(signal.SIGKILL)
                    wait_for_bodies(zaqar, queue, 2)
                    wait_rounds(tmp_path / "state", 3)
                    bodies = wait_for_bodies(zaqar, queue, 2)
            finally:
                stop.set()
                thread.join(30)
    finally:
        helpers.delete_servers(admin_conn, servers)
    reported = sorted((body["payload"]["instance_uuid"], body["payload"]["event"]) for body in bodies)
    assert len(bodies) == 2
    assert reported == sorted([(enabled, "QEMU_GUEST_AGENT_ERROR"), (late, "QEMU_GUEST_AGENT_ERROR")])
