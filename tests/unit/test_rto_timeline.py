"""A host recovery's phase timeline from the journal (a real journal on fake time), and the segment report."""

from __future__ import annotations

import uuid
from datetime import timedelta

from vmha.journal import InstanceStatus, Journal, NotificationStatus, StepClaim, StepKey
from vmha.rto import segment_reports, timeline

from .journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification

LEASE = timedelta(minutes=5)


def recovered(journal: Journal, clock: FakeClock, outcomes: tuple[InstanceStatus, ...], segment: str = "seg") -> str:
    """A host recovery recorded 60 s after the failure (generated 11:59, the clock at 12:00): fenced 5 s later,
    then one server ending every 10 s with ``outcomes``."""
    new = new_notification(f"host-{uuid.uuid4().hex[:6]}", segment=segment)
    journal.record_notification(new, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    journal.set_status(new.id, NotificationStatus.RUNNING)
    claim = journal.begin_step(StepKey(new.id, "fence_host"), LEASE)
    assert isinstance(claim, StepClaim)
    clock.advance(timedelta(seconds=5))
    journal.finish_step(claim, {})
    for number, outcome in enumerate(outcomes):
        journal.record_instance_progress(new.id, f"server-{number}", InstanceStatus.ONGOING, source_host="h")
        clock.advance(timedelta(seconds=10))
        journal.record_instance_progress(new.id, f"server-{number}", outcome, dest_host="other")
    journal.set_status(new.id, NotificationStatus.FINISHED)
    return new.id


def test_the_phases_are_counted_from_the_failure(journal: Journal, clock: FakeClock) -> None:
    found = journal.get_notification(recovered(journal, clock, (InstanceStatus.SUCCEEDED,) * 3))
    assert found is not None
    line = timeline(found)
    assert line.phases == {"admitted": 60.0, "fenced": 65.0, "first_active": 75.0, "all_active": 95.0}
    assert (line.servers, line.recovery_seconds, line.meets(95), line.meets(94)) == (3, 95.0, True, False)


def test_a_server_left_failed_means_no_recovery_time_and_no_objective_met(journal: Journal, clock: FakeClock) -> None:
    found = journal.get_notification(recovered(journal, clock, (InstanceStatus.SUCCEEDED, InstanceStatus.FAILED)))
    assert found is not None
    line = timeline(found)
    assert (line.phases["first_active"], line.recovery_seconds, line.meets(10_000)) == (75.0, None, False)


def test_ignored_servers_do_not_count_and_an_empty_recovery_ends_with_its_notification(
    journal: Journal, clock: FakeClock
) -> None:
    found = journal.get_notification(recovered(journal, clock, (InstanceStatus.IGNORED,)))
    assert found is not None
    line = timeline(found)
    assert (line.servers, line.phases["first_active"], line.recovery_seconds) == (0, None, 75.0)


def test_the_segment_report_counts_the_recoveries_that_met_the_objective(journal: Journal, clock: FakeClock) -> None:
    ids = [recovered(journal, clock, (InstanceStatus.SUCCEEDED,) * count, segment=name)
           for count, name in ((1, "a"), (3, "a"), (2, "b"))]
    lines = [timeline(detail) for detail in map(journal.get_notification, ids) if detail is not None]
    reports = segment_reports(lines, {"a": 80.0})
    assert [(report.segment, len(report.recoveries), report.met) for report in reports] == [("a", 2, 1), ("b", 1, None)]
    assert reports[0].median("all_active") == (75.0 + 110.0) / 2, "the second one began 15 s later on the clock"
