"""Which servers a host recovery evacuates, and in which order (spec §4.3): the rule the host-failure flow's
plan applies and the capacity check and the failover plan count, so all three always agree.

Order: highest ``priority_metadata_key`` first, servers without one last, HA-enabled before the others at
equal priority."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from vmha.contracts import Exclusions, Settings, opted_in


def ha_enabled(server: Any, key: str) -> bool:
    """The server opted into recovery with metadata ``key``."""
    return opted_in(server.metadata, key)


def exclusion(server: Any, rules: Exclusions) -> str | None:
    """Why the server must never be recovered automatically (excluded tag, project or image), or None."""
    tag = next((tag for tag in server.tags or () if tag in rules.tags), None)
    if tag is not None:
        return f"tag {tag} is excluded"
    if server.project_id in rules.projects:
        return f"project {server.project_id} is excluded"
    image = server.image.get("id") if isinstance(server.image, dict) else getattr(server.image, "id", None)
    if image is not None and image in rules.images:
        return f"image {image} is excluded"
    return None


def reason_to_leave(server: Any, settings: Settings) -> str | None:
    """Why a host recovery leaves ``server`` where it is (excluded, in ERROR, not HA-enabled), or None when
    it evacuates it."""
    excluded = exclusion(server, settings.exclusions)
    if excluded is not None:
        return excluded
    if settings.host_failure.ignore_instances_in_error_state and server.vm_state == "error":
        return "in ERROR state, ignore_instances_in_error_state is set"
    if not settings.host_failure.evacuate_all_instances and not ha_enabled(server, settings.ha_enabled_metadata_key):
        return "not HA-enabled"
    return None


def evacuees(servers: Iterable[Any], settings: Settings) -> tuple[list[Any], dict[str, str]]:
    """The servers a host recovery evacuates, in its order, and those it leaves (server id: why)."""
    chosen, left = [], {}
    for server in servers:
        reason = reason_to_leave(server, settings)
        if reason is None:
            chosen.append(server)
        else:
            left[server.id] = reason
    chosen.sort(key=lambda server: _order(server, settings))
    return chosen, left


def _order(server: Any, settings: Settings) -> tuple[float, int]:
    raw = (server.metadata or {}).get(settings.priority_metadata_key)
    try:
        priority = -float(int(str(raw)))
    except ValueError:
        priority = math.inf
    return priority, 0 if ha_enabled(server, settings.ha_enabled_metadata_key) else 1
