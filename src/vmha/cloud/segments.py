"""Failover segments: Nova host aggregates carrying ``vmha:`` metadata, deployed by the heat/ templates.

An aggregate is a segment when at least one of its metadata keys starts with ``vmha:``. Its members are
the aggregate's hosts plus its reserved hosts; a host belongs to at most one segment. The keys:

``vmha:enabled``
    ``true`` (default) or ``false``. A disabled segment's notifications are recorded and ignored.
``vmha:recovery_method``
    ``auto`` (default: the Nova scheduler picks targets), ``reserved_host`` (evacuate to a spare host),
    ``auto_priority`` (auto, falling back to a reserved host), ``rh_priority`` (a reserved host, falling
    back to auto). Masakari's four methods.
``vmha:reserved_hosts``
    Comma-separated spare hosts, tried in the listed order. A spare keeps its nova-compute service
    disabled (Masakari's convention) so Nova never schedules onto it; vmha enables it when it takes it into
    service, and disables it again if the attempt it was taken for moved nothing onto it.
``vmha:maintenance_hosts``
    Comma-separated hosts under planned maintenance: their notifications are recorded and ignored.
``vmha:fencing``
    ``required`` (default): no server is evacuated off a host unless its BMC confirmed it powered off.
    ``required_or_selffence``: the same, or, where the BMC is silent, the host's self-fence lease: it has
    stayed out of its segment's group for ``vmha:self_fence_seconds`` + a margin (``vmha.self_fence``).
    ``disabled``: the operator opts out, explicitly: servers are evacuated
    without proof that their host is dead, and every recovery says so (a warning in the log, an
    ``opted_out`` fence record in the journal, ``openstack vmha segment list``, ``/metrics``).
``vmha:self_fence_seconds``
    The self-fence lease (default 60): a host monitor of a ``required_or_selffence`` segment that cannot
    heartbeat into its group for this long stops its HA servers (``vmha.monitors.host.lease``).
``vmha:rto_seconds``
    The recovery time objective (none by default): every server of a failed host ACTIVE elsewhere within this
    many seconds of the failure. Reported per recovery (``vmha.rto``), never enforced.
``vmha:return_to_service``
    ``manual`` (default) or ``auto``: what vmha does when a host it recovered comes back (its BMC reports the
    power on, its nova-compute reports again): ``manual`` records it in the journal and changes nothing (an
    operator returns it: ``POST /v1/hosts/{name}/return``); ``auto`` returns it to service (``vmha.returns``).
``vmha:flap_window_seconds``
    A host that fails again within this many seconds (default 3600) of being returned to service stays out
    when it comes back again, whatever ``vmha:return_to_service`` says, until an operator returns it.
``vmha:failback``
    ``none`` (default) or ``auto``: once a host vmha recovered is back in service, ``auto`` live-migrates the
    servers its last recovery evacuated back to it (``vmha.failback``); ``none`` leaves them where they are
    (an operator may still ask: ``POST /v1/hosts/{name}/failback``).
``vmha:evacuate_all_instances``, ``vmha:mass_failure_share``, ``vmha:excluded_tags|projects|images``
    The segment's own recovery policy, in place of the gateway's settings (``vmha.cloud.segment_policy``).
``vmha:stack``
    The Heat stack that made the segment (set by heat/segment.yaml). Such a segment belongs to its stack:
    the Masakari API refuses to change it (409). A segment without it was made through the Masakari API,
    which also keeps Masakari's descriptive fields in ``vmha:`` keys of its own (``vmha.api.inventory``).

These keys are desired configuration and belong to their owner, the stack or the API; recovery never writes
them. What recovery changes is kept in the journal and in Nova's own service state: a host vmha disabled
carries a disabled reason ending in ``(vmha notification <id>)`` and counts as in maintenance until an
operator enables it again (or releases it through the Masakari API: ``released_reason``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from vmha.cloud.segment_policy import SegmentPolicy, parse_policy
from vmha.contracts import RecoveryMethod
from vmha.self_fence import SELF_FENCING, lease_seconds

PREFIX = "vmha:"
_E = TypeVar("_E", bound=StrEnum)
_HOSTS = uuid.UUID("5c0f2f7e-2d0b-5b8e-9a1d-6c4d3e2b1a90")
_MARKER = re.compile(r"\(vmha notification ([0-9a-f-]{36})\)$")
NOVA_REASON_LENGTH = 255
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class Fencing(StrEnum):
    """Whether a failed host must be fenced before its servers are evacuated."""

    REQUIRED = "required"
    REQUIRED_OR_SELF_FENCE = SELF_FENCING
    DISABLED = "disabled"


class ReturnMode(StrEnum):
    """What vmha does when a host it recovered comes back."""

    MANUAL = "manual"
    AUTO = "auto"


class FailbackMode(StrEnum):
    """Whether vmha moves the evacuated servers back once their host is back in service."""

    NONE = "none"
    AUTO = "auto"


class SegmentError(ValueError):
    """A segment's metadata is invalid, or a host is in several segments."""


@dataclass(frozen=True)
class Segment:
    """One failover segment as read from its aggregate."""

    name: str
    hosts: tuple[str, ...]
    enabled: bool
    recovery_method: RecoveryMethod
    reserved_hosts: tuple[str, ...]
    maintenance_hosts: tuple[str, ...]
    fencing: Fencing
    self_fence_seconds: int
    stack: str = ""
    """The Heat stack that owns the segment; empty for a segment made through the Masakari API."""
    return_to_service: ReturnMode = ReturnMode.MANUAL
    flap_window_seconds: int = 3600
    failback: FailbackMode = FailbackMode.NONE
    rto_seconds: int | None = None
    """The recovery time objective: a host recovery should have every server ACTIVE elsewhere within this
    many seconds of the failure (``vmha.rto``); None when the segment declares none."""
    policy: SegmentPolicy = field(default_factory=SegmentPolicy)
    """The settings the segment sets for its own recoveries (``vmha.cloud.segment_policy``)."""

    @property
    def members(self) -> tuple[str, ...]:
        """Every host of the segment: the aggregate's hosts, then reserved hosts not among them."""
        return self.hosts + tuple(host for host in self.reserved_hosts if host not in self.hosts)


def parse_segment(name: str, hosts: tuple[str, ...], metadata: Mapping[str, str]) -> Segment:
    """The segment described by an aggregate's name, hosts and metadata; raises SegmentError."""
    return Segment(
        name=name,
        hosts=hosts,
        enabled=_flag(metadata.get(PREFIX + "enabled", "true"), name),
        recovery_method=_choice(RecoveryMethod, metadata.get(PREFIX + "recovery_method", "auto"), name),
        reserved_hosts=_names(metadata.get(PREFIX + "reserved_hosts", "")),
        maintenance_hosts=_names(metadata.get(PREFIX + "maintenance_hosts", "")),
        fencing=_choice(Fencing, metadata.get(PREFIX + "fencing", Fencing.REQUIRED.value), name),
        self_fence_seconds=_lease(metadata, name),
        stack=metadata.get(PREFIX + "stack", "").strip(),
        return_to_service=_choice(ReturnMode, metadata.get(PREFIX + "return_to_service", "manual"), name),
        flap_window_seconds=_seconds(metadata.get(PREFIX + "flap_window_seconds", "3600"), "flap_window_seconds",
                                     name),
        failback=_choice(FailbackMode, metadata.get(PREFIX + "failback", "none") or "none", name),
        rto_seconds=_objective(metadata.get(PREFIX + "rto_seconds", ""), name),
        policy=_policy(metadata, name),
    )


def segments(cloud: Any) -> list[Segment]:
    """Every segment of the cloud (aggregates with ``vmha:`` metadata)."""
    found = []
    for aggregate in cloud.compute.aggregates():
        metadata = aggregate.metadata or {}
        if any(key.startswith(PREFIX) for key in metadata):
            found.append(parse_segment(aggregate.name, tuple(aggregate.hosts or ()), metadata))
    return found


def segment_of(cloud: Any, host: str) -> Segment | None:
    """The segment ``host`` belongs to, None if none; SegmentError if it is in several."""
    matches = [segment for segment in segments(cloud) if host in segment.members]
    if len(matches) > 1:
        names = ", ".join(segment.name for segment in matches)
        raise SegmentError(f"host {host} is in several vmha segments: {names}")
    return matches[0] if matches else None


def segment_named(cloud: Any, name: str) -> Segment:
    """The segment called ``name``; SegmentError if it no longer exists."""
    for segment in segments(cloud):
        if segment.name == name:
            return segment
    raise SegmentError(f"segment {name} no longer exists")


def host_uuid(name: str) -> str:
    """The stable id of the host called ``name`` (the Masakari API's host id and ``source_host_uuid``)."""
    return str(uuid.uuid5(_HOSTS, name))


def disabled_reason(reason: str, notification_id: object) -> str:
    """The disabled reason vmha sets on a nova-compute service: visible and traceable to the notification.

    The operator's text is shortened so that the whole fits Nova's 255 characters (Nova answers 400 otherwise).
    """
    marker = f" (vmha notification {notification_id})"
    return reason[:NOVA_REASON_LENGTH - len(marker)] + marker


def released_reason(reason: str | None) -> str:
    """A disabled reason without vmha's mark: the service stays disabled, the host is no longer in maintenance."""
    return _MARKER.sub("", reason or "").rstrip() or "released from vmha's maintenance"


def disabling_notification(service: Any) -> str | None:
    """The id of the notification whose recovery disabled this service, None if vmha did not disable it."""
    found = _MARKER.search(service.disabled_reason or "") if service.status == "disabled" else None
    return found.group(1) if found else None


def disabled_by_vmha(service: Any) -> bool:
    """Whether vmha disabled this service (the host is in maintenance until an operator enables it)."""
    return disabling_notification(service) is not None


def _names(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _flag(text: str, segment: str) -> bool:
    word = text.strip().lower()
    if word not in _TRUE + _FALSE:
        raise SegmentError(f"segment {segment}: {PREFIX}enabled must be true or false, not {text!r}")
    return word in _TRUE


def _policy(metadata: Mapping[str, str], segment: str) -> SegmentPolicy:
    try:
        return parse_policy(metadata)
    except ValueError as error:
        raise SegmentError(f"segment {segment}: {error}") from None


def _objective(text: str, segment: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or int(text) < 1:
        raise SegmentError(f"segment {segment}: {PREFIX}rto_seconds must be a whole number of seconds, not {text!r}")
    return int(text)


def _seconds(text: str, key: str, segment: str) -> int:
    if not text.strip().isdigit():
        raise SegmentError(f"segment {segment}: {PREFIX}{key} must be a whole number of seconds, not {text!r}")
    return int(text)


def _lease(metadata: Mapping[str, str], segment: str) -> int:
    try:
        return lease_seconds(metadata)
    except ValueError as error:
        raise SegmentError(f"segment {segment}: {error}") from None


def _choice(kind: type[_E], text: str, segment: str) -> _E:
    try:
        return kind(text.strip())
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise SegmentError(f"segment {segment}: {text!r} is not one of {allowed}") from None
