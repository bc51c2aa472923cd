"""How Nova metadata opts a server into recovery, read the way Masakari reads ``HA_Enabled``."""

from __future__ import annotations

from collections.abc import Mapping

_TRUTHY = frozenset({"true", "1", "yes", "on", "y", "t"})  # oslo strutils' lenient boolean


def truthy(value: object) -> bool:
    """Whether a metadata value means yes (True, true, 1, yes, on, y, t; spaces ignored)."""
    return str(value).strip().lower() in _TRUTHY


def opted_in(metadata: Mapping[str, str] | None, key: str) -> bool:
    """Whether server ``metadata`` sets ``key`` (e.g. HA_Enabled) to a true value."""
    return truthy((metadata or {}).get(key, "false"))
