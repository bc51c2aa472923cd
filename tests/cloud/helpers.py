"""What tests, the demo and benchmarks do to the local cloud: kill and restart fake hosts, boot servers,
empty queues."""

from __future__ import annotations

import os
import signal
from typing import Any

from zaqarclient.queues import client as zaqar_client

from tests.cloud import catalog, kvm_hosts, procs, services
from tests.cloud.layout import KVM_HOSTS, Layout
from vmha.demo.hosts import compute_service, return_to_service
from vmha.fencing import load_fencing_config, power_driver

# Below 2.95 an evacuated ACTIVE server comes back ACTIVE (2.95+ leaves it stopped); 2.74 adds `host`.
COMPUTE_MICROVERSION = "2.74"
__all__ = ["COMPUTE_MICROVERSION", "boot_servers", "compute_service", "cut_off_host", "delete_servers",
           "host_is_running", "kill_host", "purge_queue", "reconnect_host", "restore_host", "start_host",
           "wait_evacuated", "zaqar"]


def kill_host(layout: Layout, host: str) -> None:
    """SIGKILL the host's nova-compute, as a power loss would (its BMC, later, keeps answering)."""
    procs.kill(layout, f"nova-{host}")


def cut_off_host(layout: Layout, host: str) -> None:
    """SIGSTOP the host's nova-compute: still there, no longer reporting, as behind a cut management link."""
    pid = procs.read_pid(layout, f"nova-{host}")
    assert pid is not None, f"nova-compute of {host} is not running"
    os.killpg(pid, signal.SIGSTOP)


def reconnect_host(layout: Layout, host: str) -> None:
    """SIGCONT the host's nova-compute stopped by ``cut_off_host``."""
    pid = procs.read_pid(layout, f"nova-{host}")
    if pid is not None:
        os.killpg(pid, signal.SIGCONT)


def start_host(layout: Layout, host: str) -> None:
    """Power the host on at its BMC (a recovery fenced it) and start its nova-compute again (the fake driver
    re-adopts the host's instances)."""
    fencing_file = kvm_hosts.fencing_yaml(layout) if host in KVM_HOSTS else layout.fencing_yaml
    power_driver(load_fencing_config(fencing_file)[host]).power_on()
    services.start(layout, [services.compute_service(layout, host)])


def host_is_running(layout: Layout, host: str) -> bool:
    return procs.is_running(layout, f"nova-{host}")


def boot_servers(conn: Any, host: str, count: int, prefix: str, *, metadata: dict[str, str] | None = None,
                 timeout: float = 120.0, flavor_name: str = catalog.FLAVOR_NAME,
                 image_name: str = catalog.IMAGE_NAME) -> list[Any]:
    """Boot ``count`` servers of ``image_name`` and ``flavor_name`` pinned to ``host`` (no network) and wait until
    all are ACTIVE."""
    image = conn.image.find_image(image_name, ignore_missing=False)
    flavor = conn.compute.find_flavor(flavor_name, ignore_missing=False)
    created = [
        conn.compute.create_server(name=f"{prefix}-{i}", image_id=image.id, flavor_id=flavor.id,
                                   networks="none", host=host, metadata=metadata or {})
        for i in range(count)
    ]
    return [conn.compute.wait_for_server(server, status="ACTIVE", wait=timeout, interval=0.5)
            for server in created]


def delete_servers(conn: Any, servers: list[Any], timeout: float = 120.0) -> None:
    for server in servers:
        conn.compute.delete_server(server, ignore_missing=True, force=True)
    for server in servers:
        conn.compute.wait_for_delete(server, wait=timeout, interval=0.5)


def zaqar(conn: Any) -> Any:
    """A python-zaqarclient v2 client on the connection's Keystone session.

    Not openstacksdk's message proxy: in openstacksdk 4.18 creating a claim fails (Claim's `location`
    attribute shadows the header it parses) and listing messages pages forever on the last message.
    """
    return zaqar_client.Client(version=2, session=conn.session)


def purge_queue(conn: Any, queue: str) -> int:
    """Delete every message of a Zaqar queue; return how many there were."""
    handle = zaqar(conn).queue(queue, auto_create=False)
    count = int(handle.stats["messages"]["total"])
    handle.purge()
    return count


def wait_evacuated(conn: Any, server: Any, failed_host: str, timeout: float = 120.0) -> Any:
    """Wait until ``server`` is ACTIVE, settled (no task), on a host other than ``failed_host``."""
    latest = server

    def moved() -> bool:
        nonlocal latest
        latest = conn.compute.get_server(server.id)
        if latest.status == "ERROR":
            raise AssertionError(f"server {server.id} went to ERROR: {latest.fault}")
        return bool(latest.status == "ACTIVE" and latest.task_state is None and latest.compute_host != failed_host)

    if not procs.wait_until(moved, timeout, 0.5):
        raise AssertionError(f"server {server.id} not evacuated from {failed_host} in {timeout} s: "
                             f"{latest.status} on {latest.compute_host}, task {latest.task_state}")
    return latest


def restore_host(layout: Layout, conn: Any, host: str, timeout: float = 120.0) -> None:
    """Bring a killed fake host back into service: start it, then `vmha.demo.hosts.return_to_service`."""
    start_host(layout, host)
    return_to_service(conn, host, timeout)
