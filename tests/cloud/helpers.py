"""What tests, the demo and benchmarks do to the local cloud: kill and restart fake hosts, boot servers,
empty queues."""

from __future__ import annotations

from typing import Any

from tests.cloud import catalog, procs, services
from tests.cloud.layout import Layout

# Below 2.95 an evacuated ACTIVE server comes back ACTIVE (2.95+ leaves it stopped); 2.74 adds `host`.
COMPUTE_MICROVERSION = "2.74"


def kill_host(layout: Layout, host: str) -> None:
    """SIGKILL the host's nova-compute, as a power loss would (its BMC, later, keeps answering)."""
    procs.kill(layout, f"nova-{host}")


def start_host(layout: Layout, host: str) -> None:
    """Start the host's nova-compute again (the fake driver re-adopts the host's instances)."""
    services.start(layout, [services.compute_service(layout, host)])


def host_is_running(layout: Layout, host: str) -> bool:
    return procs.is_running(layout, f"nova-{host}")


def boot_servers(conn: Any, host: str, count: int, prefix: str, *, metadata: dict[str, str] | None = None,
                 timeout: float = 120.0) -> list[Any]:
    """Boot ``count`` servers pinned to ``host`` (no network) and wait until all are ACTIVE."""
    image = conn.image.find_image(catalog.IMAGE_NAME, ignore_missing=False)
    flavor = conn.compute.find_flavor(catalog.FLAVOR_NAME, ignore_missing=False)
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


def purge_queue(conn: Any, queue: str) -> int:
    """Delete every message of a Zaqar queue; return how many there were."""
    deleted = 0
    while True:
        messages = list(conn.message.messages(queue, limit=20, echo=True))
        if not messages:
            return deleted
        for message in messages:
            conn.message.delete_message(queue, message)
        deleted += len(messages)
