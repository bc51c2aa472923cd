"""Which libvirt domain events become VM notifications: a table (data), and two pure functions over it.

``EVENT_FILTER`` is masakari-instancemonitor's mapping: (event id, type or action, detail) to the
notification's ``event`` and ``vir_domain_event``; ``ANY`` matches every value. ``classify`` looks an event
up; nothing found means the event is not reported (RTC change, graphics, STARTED, RESUMED, STOPPED_CRASHED,
watchdog INJECTNMI, ...). ``missed_events`` compares the domain states known before a gap (libvirtd
restart, monitor restart) with the states after it and returns the events the gap hid, so a failure during
the gap is reported as if it had been seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import libvirt

from vmha.contracts import VirDomainEvent, VmEvent

ANY = -1
"""Wildcard for the type/action or detail of an event."""

_ID = libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE
_SUSPENDED = libvirt.VIR_DOMAIN_EVENT_SUSPENDED
_STOPPED = libvirt.VIR_DOMAIN_EVENT_STOPPED
_SHUTDOWN = libvirt.VIR_DOMAIN_EVENT_SHUTDOWN
_WATCHDOG = libvirt.VIR_DOMAIN_EVENT_ID_WATCHDOG
_IO_ERROR = libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR
V = VirDomainEvent

EVENT_FILTER: Mapping[tuple[int, int, int], tuple[VmEvent, VirDomainEvent]] = {
    (_ID, _SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR): (VmEvent.LIFECYCLE, V.SUSPENDED_IOERROR),
    (_ID, _SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG): (VmEvent.LIFECYCLE, V.SUSPENDED_WATCHDOG),
    (_ID, _SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR): (VmEvent.LIFECYCLE, V.SUSPENDED_API_ERROR),
    (_ID, _STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN): (VmEvent.LIFECYCLE, V.STOPPED_SHUTDOWN),
    (_ID, _STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED): (VmEvent.LIFECYCLE, V.STOPPED_DESTROYED),
    (_ID, _STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED): (VmEvent.LIFECYCLE, V.STOPPED_FAILED),
    (_ID, _SHUTDOWN, libvirt.VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED): (VmEvent.LIFECYCLE, V.SHUTDOWN_FINISHED),
    (libvirt.VIR_DOMAIN_EVENT_ID_REBOOT, ANY, ANY): (VmEvent.REBOOT, V.UNKNOWN),
    (_WATCHDOG, libvirt.VIR_DOMAIN_EVENT_WATCHDOG_NONE, ANY): (VmEvent.WATCHDOG, V.WATCHDOG_NONE),
    (_WATCHDOG, libvirt.VIR_DOMAIN_EVENT_WATCHDOG_PAUSE, ANY): (VmEvent.WATCHDOG, V.WATCHDOG_PAUSE),
    (_WATCHDOG, libvirt.VIR_DOMAIN_EVENT_WATCHDOG_RESET, ANY): (VmEvent.WATCHDOG, V.WATCHDOG_RESET),
    (_WATCHDOG, libvirt.VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF, ANY): (VmEvent.WATCHDOG, V.WATCHDOG_POWEROFF),
    (_WATCHDOG, libvirt.VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN, ANY): (VmEvent.WATCHDOG, V.WATCHDOG_SHUTDOWN),
    (_WATCHDOG, libvirt.VIR_DOMAIN_EVENT_WATCHDOG_DEBUG, ANY): (VmEvent.WATCHDOG, V.WATCHDOG_DEBUG),
    (_IO_ERROR, libvirt.VIR_DOMAIN_EVENT_IO_ERROR_NONE, ANY): (VmEvent.IO_ERROR, V.IO_ERROR_NONE),
    (_IO_ERROR, libvirt.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE, ANY): (VmEvent.IO_ERROR, V.IO_ERROR_PAUSE),
    (_IO_ERROR, libvirt.VIR_DOMAIN_EVENT_IO_ERROR_REPORT, ANY): (VmEvent.IO_ERROR, V.IO_ERROR_REPORT),
    (libvirt.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON, ANY, ANY): (VmEvent.IO_ERROR_REASON, V.UNKNOWN),
    (libvirt.VIR_DOMAIN_EVENT_ID_CONTROL_ERROR, ANY, ANY): (VmEvent.CONTROL_ERROR, V.UNKNOWN),
}

# A domain found in this (state, reason) after a gap went through this lifecycle (type, detail) unseen.
# A shut-off domain whose reason says crashed, failed, killed by the daemon or unknown gets the one
# actionable event: STOPPED_FAILED, what libvirt sends when the QEMU process dies.
_OFF, _PAUSED = libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_PAUSED
_FAILED = (_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED)
GAP_TRANSITIONS: Mapping[tuple[int, int], tuple[int, int]] = {
    (_OFF, libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN): (_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN),
    (_OFF, libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED): (_STOPPED, libvirt.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
    (_OFF, libvirt.VIR_DOMAIN_SHUTOFF_CRASHED): _FAILED,
    (_OFF, libvirt.VIR_DOMAIN_SHUTOFF_FAILED): _FAILED,
    (_OFF, libvirt.VIR_DOMAIN_SHUTOFF_DAEMON): _FAILED,
    (_OFF, libvirt.VIR_DOMAIN_SHUTOFF_UNKNOWN): _FAILED,
    (_PAUSED, libvirt.VIR_DOMAIN_PAUSED_IOERROR): (_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR),
    (_PAUSED, libvirt.VIR_DOMAIN_PAUSED_WATCHDOG): (_SUSPENDED, libvirt.VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG),
}


@dataclass(frozen=True)
class DomainEvent:
    """One libvirt domain event: its id (VIR_DOMAIN_EVENT_ID_*), type or action, and detail."""

    event_id: int
    code: int = ANY
    detail: int = ANY


@dataclass(frozen=True)
class DomainState:
    """A domain's state and reason as ``virDomainGetState`` gives them."""

    state: int
    reason: int


def classify(event: DomainEvent) -> tuple[VmEvent, VirDomainEvent] | None:
    """The notification ``event`` and ``vir_domain_event`` for a libvirt event, or None if not reported."""
    for key in ((event.event_id, event.code, event.detail), (event.event_id, event.code, ANY),
                (event.event_id, ANY, ANY)):
        if key in EVENT_FILTER:
            return EVENT_FILTER[key]
    return None


def missed_events(before: Mapping[str, DomainState], after: Mapping[str, DomainState]) -> dict[str, DomainEvent]:
    """Per domain uuid, the lifecycle event a gap hid: the domain was known, and is now in a state it can
    only have reached through that event. Domains that vanished were undefined, not failed: no event."""
    missed = {}
    for uuid, now in after.items():
        then = before.get(uuid)
        transition = GAP_TRANSITIONS.get((now.state, now.reason))
        if then is not None and then != now and transition is not None:
            missed[uuid] = DomainEvent(_ID, *transition)
    return missed
