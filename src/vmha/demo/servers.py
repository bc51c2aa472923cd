"""The demo's servers: boot them on given hosts, follow where they are, tabulate the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

HA_METADATA = {"HA_Enabled": "True"}


@dataclass(frozen=True)
class Placement:
    """Where a server is and in which state, as last seen."""

    id: str
    name: str
    host: str
    status: str
    task: str | None

    @property
    def settled(self) -> bool:
        """ACTIVE with no task running."""
        return self.status == "ACTIVE" and self.task is None


def boot(conn: Any, plan: list[tuple[str, str]], image: str, flavor: str, timeout: float) -> list[Placement]:
    """Boot one HA-enabled server per (name, host) of ``plan`` and wait until every one is ACTIVE."""
    image_id = conn.image.find_image(image, ignore_missing=False).id
    flavor_id = conn.compute.find_flavor(flavor, ignore_missing=False).id
    created = [conn.compute.create_server(name=name, image_id=image_id, flavor_id=flavor_id, networks="none",
                                          host=host, metadata=HA_METADATA) for name, host in plan]
    return [place(conn.compute.wait_for_server(server, status="ACTIVE", wait=int(timeout), interval=0.5))
            for server in created]


def place(server: Any) -> Placement:
    """A server's placement from Nova's record."""
    return Placement(server.id, server.name, server.compute_host or "-", server.status, server.task_state)


def look(conn: Any, servers: list[Placement]) -> list[Placement]:
    """Where the servers are now."""
    return [place(conn.compute.get_server(server.id)) for server in servers]


def recovered(before: Placement, now: Placement) -> bool:
    """Whether a server of the failed host is ACTIVE, settled, on another host."""
    return now.settled and now.host != before.host


def delete(conn: Any, servers: list[Placement], timeout: float) -> None:
    """Delete the servers and wait until they are gone."""
    for server in servers:
        conn.compute.delete_server(server.id, ignore_missing=True, force=True)
    for server in servers:
        found = conn.compute.find_server(server.id)
        if found is not None:
            conn.compute.wait_for_delete(found, wait=int(timeout), interval=0.5)
