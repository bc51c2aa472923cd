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
    """Boot one HA-enabled server per (name, host) of ``plan`` and wait until every one is ACTIVE.

    If any cannot be made (a quota, a host refusing), those already made are deleted before the error
    goes on: the caller's clean-up only knows the servers this returned.
    """
    image_id = conn.image.find_image(image, ignore_missing=False).id
    flavor_id = conn.compute.find_flavor(flavor, ignore_missing=False).id
    created: list[Any] = []
    try:
        for name, host in plan:
            created.append(conn.compute.create_server(name=name, image_id=image_id, flavor_id=flavor_id,
                                                      networks="none", host=host, metadata=HA_METADATA))
        return [place(conn.compute.wait_for_server(server, status="ACTIVE", wait=int(timeout), interval=0.5))
                for server in created]
    except BaseException:
        delete(conn, [server.id for server in created], timeout)
        raise


def place(server: Any) -> Placement:
    """A server's placement from Nova's record."""
    return Placement(server.id, server.name, server.compute_host or "-", server.status, server.task_state)


def look(conn: Any, servers: list[Placement]) -> list[Placement]:
    """Where the servers are now."""
    return [place(conn.compute.get_server(server.id)) for server in servers]


def recovered(before: Placement, now: Placement) -> bool:
    """Whether a server of the failed host is ACTIVE, settled, on another host."""
    return now.settled and now.host != before.host


def delete(conn: Any, ids: list[str], timeout: float) -> None:
    """Delete the servers ``ids`` and wait until they are gone."""
    for server_id in ids:
        conn.compute.delete_server(server_id, ignore_missing=True, force=True)
    for server_id in ids:
        found = conn.compute.find_server(server_id)
        if found is not None:
            conn.compute.wait_for_delete(found, wait=int(timeout), interval=0.5)
