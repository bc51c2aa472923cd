"""The self-fence lease: what the host monitors hold and ``fence_host`` trusts where a host's BMC is silent.

A host monitor in a segment that says ``vmha:fencing required_or_selffence`` heartbeats into the segment's
tooz group (``group_name``) and, while it is a member, keeps an *armed marker*: an empty tooz group named
after the group, the host, its incarnation in the group and the lease it read from the segment
(``armed_marker``). Once it has been unable to heartbeat for the lease (``vmha:self_fence_seconds``),
counted on a monotonic clock from its last successful heartbeat, it fences itself: it stops its HA
servers, and a watchdog it pets only after successful heartbeats reboots it.

``fence_host`` takes that as proof only after the host has stayed out of the group, with the same armed
marker, for the lease + ``MARGIN_SECONDS`` (README, "Proof without a BMC"). A monitor stopped on purpose
deletes its marker first: its host holds no lease, so nothing is proven by its absence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

GROUP_PREFIX = "vmha-segment-"
SELF_FENCING = "required_or_selffence"
"""The ``vmha:fencing`` value that arms the lease (``vmha.cloud.segments.Fencing``)."""
LEASE_KEY = "vmha:self_fence_seconds"
DEFAULT_LEASE_SECONDS = 60
MARGIN_SECONDS = 10
"""Added by the survivors to the lease: the hosts' clock rates, the gateway replicas' clock offsets and the
time a host takes to stop its servers once its lease is out."""


@dataclass(frozen=True)
class ArmedLease:
    """An armed marker's content: the host's incarnation in the group and the lease it holds."""

    incarnation: str
    seconds: int


def group_name(segment: str) -> str:
    """The tooz group of the segment's host monitors."""
    return GROUP_PREFIX + segment


def self_fencing(metadata: Mapping[str, str]) -> bool:
    """Whether a segment's metadata arms the lease."""
    return metadata.get("vmha:fencing", "").strip() == SELF_FENCING


def lease_seconds(metadata: Mapping[str, str]) -> int:
    """``vmha:self_fence_seconds`` of a segment's metadata; ValueError unless a whole number from 1."""
    text = metadata.get(LEASE_KEY, str(DEFAULT_LEASE_SECONDS)).strip()
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{LEASE_KEY} must be a whole number of seconds from 1, not {text!r}")
    return int(text)


def armed_marker(group: str, host: str, lease: ArmedLease) -> str:
    return f"{_armed_prefix(group, host)}{lease.incarnation}.{lease.seconds}"


def armed_leases(group: str, host: str, groups: Iterable[str]) -> list[ArmedLease]:
    """The leases of ``host`` armed in ``group``, read from the names of every tooz group."""
    prefix, found = _armed_prefix(group, host), []
    for name in groups:
        parts = name[len(prefix):].split(".") if name.startswith(prefix) else []
        if len(parts) == 2 and parts[1].isdigit():  # not a host whose name only starts like this one
            found.append(ArmedLease(parts[0], int(parts[1])))
    return found


def _armed_prefix(group: str, host: str) -> str:
    """What the names of ``host``'s armed markers in ``group`` start with."""
    return f"{group}.armed.{host}."
