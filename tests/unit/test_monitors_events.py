"""The libvirt event filter (masakari-instancemonitor's table) and the catch-up after a gap."""

from __future__ import annotations

import libvirt
import pytest

from vmha.contracts import VirDomainEvent, VmEvent
from vmha.monitors.events import DomainEvent, DomainState, classify, missed_events

L = libvirt
LIFECYCLE, REBOOT = L.VIR_DOMAIN_EVENT_ID_LIFECYCLE, L.VIR_DOMAIN_EVENT_ID_REBOOT
WATCHDOG = L.VIR_DOMAIN_EVENT_ID_WATCHDOG
IO_ERROR, IO_REASON = L.VIR_DOMAIN_EVENT_ID_IO_ERROR, L.VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON

REPORTED = [
    (DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_SUSPENDED, L.VIR_DOMAIN_EVENT_SUSPENDED_IOERROR), "LIFECYCLE",
     "SUSPENDED_IOERROR"),
    (DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_SUSPENDED, L.VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG), "LIFECYCLE",
     "SUSPENDED_WATCHDOG"),
    (DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_SUSPENDED, L.VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR), "LIFECYCLE",
     "SUSPENDED_API_ERROR"),
    (DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_STOPPED, L.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN), "LIFECYCLE",
     "STOPPED_SHUTDOWN"),
    (DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_STOPPED, L.VIR_DOMAIN_EVENT_STOPPED_DESTROYED), "LIFECYCLE",
     "STOPPED_DESTROYED"),
    (DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_STOPPED, L.VIR_DOMAIN_EVENT_STOPPED_FAILED), "LIFECYCLE",
     "STOPPED_FAILED"),
    (DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_SHUTDOWN, L.VIR_DOMAIN_EVENT_SHUTDOWN_FINISHED), "LIFECYCLE",
     "SHUTDOWN_FINISHED"),
    (DomainEvent(REBOOT), "REBOOT", "UNKNOWN"),
    (DomainEvent(WATCHDOG, L.VIR_DOMAIN_EVENT_WATCHDOG_NONE), "WATCHDOG", "WATCHDOG_NONE"),
    (DomainEvent(WATCHDOG, L.VIR_DOMAIN_EVENT_WATCHDOG_PAUSE), "WATCHDOG", "WATCHDOG_PAUSE"),
    (DomainEvent(WATCHDOG, L.VIR_DOMAIN_EVENT_WATCHDOG_RESET), "WATCHDOG", "WATCHDOG_RESET"),
    (DomainEvent(WATCHDOG, L.VIR_DOMAIN_EVENT_WATCHDOG_POWEROFF), "WATCHDOG", "WATCHDOG_POWEROFF"),
    (DomainEvent(WATCHDOG, L.VIR_DOMAIN_EVENT_WATCHDOG_SHUTDOWN), "WATCHDOG", "WATCHDOG_SHUTDOWN"),
    (DomainEvent(WATCHDOG, L.VIR_DOMAIN_EVENT_WATCHDOG_DEBUG), "WATCHDOG", "WATCHDOG_DEBUG"),
    (DomainEvent(IO_ERROR, L.VIR_DOMAIN_EVENT_IO_ERROR_NONE), "IO_ERROR", "IO_ERROR_NONE"),
    (DomainEvent(IO_ERROR, L.VIR_DOMAIN_EVENT_IO_ERROR_PAUSE), "IO_ERROR", "IO_ERROR_PAUSE"),
    (DomainEvent(IO_ERROR, L.VIR_DOMAIN_EVENT_IO_ERROR_REPORT), "IO_ERROR", "IO_ERROR_REPORT"),
    (DomainEvent(IO_REASON, L.VIR_DOMAIN_EVENT_IO_ERROR_REPORT), "IO_ERROR_REASON", "UNKNOWN"),
    (DomainEvent(L.VIR_DOMAIN_EVENT_ID_CONTROL_ERROR), "CONTROL_ERROR", "UNKNOWN"),
]

FILTERED = [
    DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_STARTED, 0),
    DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_RESUMED, 0),
    DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_SUSPENDED, L.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
    DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_STOPPED, L.VIR_DOMAIN_EVENT_STOPPED_CRASHED),
    DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_STOPPED, L.VIR_DOMAIN_EVENT_STOPPED_MIGRATED),
    DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_STOPPED, L.VIR_DOMAIN_EVENT_STOPPED_SAVED),
    DomainEvent(LIFECYCLE, L.VIR_DOMAIN_EVENT_SHUTDOWN, L.VIR_DOMAIN_EVENT_SHUTDOWN_GUEST),
    DomainEvent(WATCHDOG, L.VIR_DOMAIN_EVENT_WATCHDOG_INJECTNMI),
    DomainEvent(L.VIR_DOMAIN_EVENT_ID_RTC_CHANGE),
    DomainEvent(L.VIR_DOMAIN_EVENT_ID_GRAPHICS),
    DomainEvent(L.VIR_DOMAIN_EVENT_ID_DISK_CHANGE),
]


@pytest.mark.parametrize(("event", "vm_event", "vir_domain_event"), REPORTED)
def test_reported_events_map_as_masakari_does(event: DomainEvent, vm_event: str, vir_domain_event: str) -> None:
    assert classify(event) == (VmEvent(vm_event), VirDomainEvent(vir_domain_event))


@pytest.mark.parametrize("event", FILTERED)
def test_other_events_are_not_reported(event: DomainEvent) -> None:
    assert classify(event) is None


RUNNING = DomainState(L.VIR_DOMAIN_RUNNING, L.VIR_DOMAIN_RUNNING_BOOTED)
CRASHED = DomainState(L.VIR_DOMAIN_SHUTOFF, L.VIR_DOMAIN_SHUTOFF_CRASHED)
DESTROYED = DomainState(L.VIR_DOMAIN_SHUTOFF, L.VIR_DOMAIN_SHUTOFF_DESTROYED)
PAUSED_IO = DomainState(L.VIR_DOMAIN_PAUSED, L.VIR_DOMAIN_PAUSED_IOERROR)
PAUSED_USER = DomainState(L.VIR_DOMAIN_PAUSED, L.VIR_DOMAIN_PAUSED_USER)


def test_a_crash_during_the_gap_is_the_actionable_stopped_failed() -> None:
    missed = missed_events({"a": RUNNING, "b": RUNNING, "c": RUNNING}, {"a": CRASHED, "b": RUNNING, "c": PAUSED_IO})
    assert {uuid: classify(event) for uuid, event in missed.items()} == {
        "a": (VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED),
        "c": (VmEvent.LIFECYCLE, VirDomainEvent.SUSPENDED_IOERROR),
    }


def test_the_gap_reports_nothing_new_unknown_or_unchanged() -> None:
    assert missed_events({"a": CRASHED}, {"a": CRASHED}) == {}  # already known (and reported) before the gap
    assert missed_events({}, {"new": CRASHED}) == {}  # never seen running: not ours to judge
    assert missed_events({"a": RUNNING}, {"a": PAUSED_USER}) == {}  # an operator's pause
    assert missed_events({"gone": RUNNING}, {}) == {}  # undefined, e.g. deleted by Nova


def test_a_destroy_during_the_gap_maps_to_stopped_destroyed() -> None:
    [event] = missed_events({"a": RUNNING}, {"a": DESTROYED}).values()
    assert classify(event) == (VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_DESTROYED)
