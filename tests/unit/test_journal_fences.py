"""Fence records and recorded flows in the journal: written once, read back typed, on every database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vmha.journal import FenceMethod, Journal, NotificationStatus, UnknownNotificationError

from .journal_support import FakeClock, recorded_notification


def test_a_fence_is_recorded_once_and_the_first_one_stays(journal: Journal, clock: FakeClock) -> None:
    nid = recorded_notification(journal)
    assert journal.get_fence(nid, "compute-1") is None
    evidence = {"bmc": "redfish http://127.0.0.1:9", "power": "off", "powered_off": True}
    first = journal.record_fence(nid, "compute-1", FenceMethod.REDFISH, evidence)
    assert (first.method, dict(first.evidence), first.fenced_at, first.proves_death) == (
        FenceMethod.REDFISH, evidence, clock.now, True)
    clock.advance(timedelta(seconds=3))
    again = journal.record_fence(nid, "compute-1", FenceMethod.OPTED_OUT, {})  # another replica, later
    assert again == first == journal.get_fence(nid, "compute-1")
    assert journal.get_fence(nid, "compute-2") is None


def test_an_opt_out_is_a_record_that_proves_nothing(journal: Journal) -> None:
    nid = recorded_notification(journal)
    waiver = journal.record_fence(nid, "compute-1", FenceMethod.OPTED_OUT, {"segment": "s", "fencing": "disabled"})
    assert not waiver.proves_death


def test_a_fence_of_an_unknown_notification_is_refused(journal: Journal) -> None:
    with pytest.raises(UnknownNotificationError):
        journal.record_fence("00000000-0000-0000-0000-000000000000", "compute-1", FenceMethod.IPMI, {})


def test_the_flow_is_fixed_while_new_and_kept_after(journal: Journal) -> None:
    nid = recorded_notification(journal)
    record = journal.get_notification_record(nid)
    assert record is not None and record.flow is None
    assert record.flow_refusal(("a",)) is not None
    assert journal.set_flow(nid, ("fence_host", "evacuate_instance")).flow == ("fence_host", "evacuate_instance")
    journal.set_status(nid, NotificationStatus.RUNNING)
    assert journal.set_flow(nid, ("evacuate_instance",)).flow == ("fence_host", "evacuate_instance")
    stored = journal.get_notification_record(nid)
    assert stored is not None and stored.flow_refusal(("fence_host", "evacuate_instance")) is None
    assert "is not the flow recorded" in (stored.flow_refusal(("evacuate_instance",)) or "")
