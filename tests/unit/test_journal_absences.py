"""Absences (the survivors' clock of a self-fence lease) in the journal, on every database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vmha.journal import Journal, UnknownNotificationError

from .journal_support import FakeClock, recorded_notification


def test_an_absence_keeps_its_start_while_the_incarnation_stays(journal: Journal, clock: FakeClock) -> None:
    nid = recorded_notification(journal)
    first = journal.note_absence(nid, "compute-1", "inc-a")
    assert (first.host, first.incarnation, first.since) == ("compute-1", "inc-a", clock.now)
    clock.advance(timedelta(seconds=30))
    assert journal.note_absence(nid, "compute-1", "inc-a") == first
    assert journal.note_absence(nid, "compute-2", "inc-a").since == clock.now  # another host, its own clock


def test_another_incarnation_or_a_return_restarts_the_clock(journal: Journal, clock: FakeClock) -> None:
    nid = recorded_notification(journal)
    journal.note_absence(nid, "compute-1", "inc-a")
    clock.advance(timedelta(seconds=30))
    assert journal.note_absence(nid, "compute-1", "inc-b").since == clock.now  # it rejoined and left again
    clock.advance(timedelta(seconds=30))
    journal.clear_absence(nid, "compute-1")  # seen back in its group
    journal.clear_absence(nid, "compute-1")
    assert journal.note_absence(nid, "compute-1", "inc-b").since == clock.now


def test_an_absence_of_an_unknown_notification_is_refused(journal: Journal) -> None:
    with pytest.raises(UnknownNotificationError):
        journal.note_absence("00000000-0000-0000-0000-000000000000", "compute-1", "inc-a")
