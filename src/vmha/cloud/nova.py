"""Nova's compute services and servers as vmha looks them up, through openstacksdk (``cloud.compute``).

Callers pass an openstacksdk connection pinned to ``vmha.context.COMPUTE_MICROVERSION``; these reads let
openstacksdk's exceptions through (the steps map them at ``vmha.functions.nova.at_boundary``), except a
server's 404, which ``get_server`` answers with None.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openstack import exceptions as sdk_errors

COMPUTE_BINARY = "nova-compute"
_MIGRATION_ENDED = frozenset({"done", "completed", "failed", "error", "cancelled"})


def compute_service(cloud: Any, host: str) -> Any | None:
    """The nova-compute service of ``host``, None if Nova has none."""
    return next(iter(cloud.compute.services(host=host, binary=COMPUTE_BINARY)), None)


def compute_services(cloud: Any) -> dict[str, Any]:
    """Every nova-compute service by host, in one listing."""
    return {service.host: service for service in cloud.compute.services(binary=COMPUTE_BINARY)}


def is_down(service: Any) -> bool:
    """Nova considers the service down: missed heartbeats or forced down."""
    return service.state == "down" or bool(service.is_forced_down)


def nova_time(text: str | None) -> datetime | None:
    """A timestamp as Nova gives it (ISO 8601, UTC, usually without an offset), None for none."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def servers_on(cloud: Any, host: str) -> list[Any]:
    """Every server Nova places on ``host``, all projects (shelved-offloaded ones have no host)."""
    return list(cloud.compute.servers(details=True, all_projects=True, compute_host=host))


def get_server(cloud: Any, uuid: object) -> Any | None:
    """The server, None if it was deleted."""
    try:
        return cloud.compute.get_server(str(uuid))
    except sdk_errors.NotFoundException:
        return None


def evacuation_running(cloud: Any, server_id: str, source_host: str) -> bool:
    """Whether Nova's latest evacuation of the server off ``source_host`` has not ended yet (os-migrations).

    Nova clears an evacuated server's task state before the destination takes it over: until its migration
    is ``done``, a server with no task can still show its old host (nova.compute.manager.rebuild_instance).
    """
    found = cloud.compute.migrations(server_id=server_id, source_compute=source_host, migration_type="evacuation")
    latest = max(found, key=lambda migration: (str(migration.created_at), migration.id or 0), default=None)
    return latest is not None and latest.status not in _MIGRATION_ENDED
