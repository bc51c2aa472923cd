"""What a failed host's segment group shows of its self-fence lease (``vmha.self_fence``), for ``fence_host``.

Two reads on the coordination backend (``vmha.functions.locks.backend_url``: its requests bounded by
``settings.timeouts.coordination_seconds``), each awaited at most ``READ_TIMEOUT_SECONDS``: the group's
members (is the host still heartbeating?) and the names of the groups (which leases has it armed?).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tooz import coordination

from vmha.functions import locks
from vmha.self_fence import ArmedLease, armed_leases, group_name
from vmha.tooz_errors import as_tooz_errors

READ_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Sighting:
    """The host as its segment's group shows it now."""

    member: bool
    leases: tuple[ArmedLease, ...]
    """The self-fence leases its monitor armed and has not disarmed (one, unless it rejoined meanwhile)."""


Look = Callable[[str, str, str], Sighting]
"""(coordination URL, segment, host) -> Sighting; raises LeaseUnknownError."""


class LeaseUnknownError(Exception):
    """The coordination backend could not be read."""


def look(url: str, segment: str, host: str) -> Sighting:
    """The host in its segment's group on ``url``."""
    group = group_name(segment)
    try:
        with as_tooz_errors():
            driver = locks.coordinator(url)
            try:
                members = driver.get_members(group.encode()).get(timeout=READ_TIMEOUT_SECONDS)
            except coordination.GroupNotCreated:
                members = set()
            groups = driver.get_groups().get(timeout=READ_TIMEOUT_SECONDS)
    except (coordination.ToozError, RuntimeError) as error:  # RuntimeError: no tooz driver for the URL
        raise LeaseUnknownError(f"cannot read the group {group} ({type(error).__name__}: {error})") from error
    names = [name.decode() for name in groups]
    return Sighting(host.encode() in members, tuple(armed_leases(group, host, names)))
