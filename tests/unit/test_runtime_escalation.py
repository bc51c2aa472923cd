"""The gateway's escalation of failed recoveries without a cloud: only the replica whose journal write failed
a notification escalates it, and a RabbitMQ that cannot be reached (a loopback port nothing listens on)
leaves the recovery failed as before, with a warning and a line in its progress log."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest

from vmha.contracts import EscalationOptions
from vmha.escalation import PROGRESS_STEP, Escalation
from vmha.journal import IllegalTransitionError, Journal, NotificationRecord, NotificationStatus
from vmha.runtime.consumer import sweep

from .journal_support import FakeClock, new_notification


@pytest.fixture
def rabbitmq_down() -> Iterator[str]:
    """A transport URL of a loopback port nothing listens on (the port stays bound, so nobody takes it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield f"rabbit://guest:guest@127.0.0.1:{probe.getsockname()[1]}/"


def overdue(journal: Journal, clock: FakeClock) -> NotificationRecord:
    """A notification recorded now and already past its five-minute deadline."""
    record = journal.record_notification(new_notification(), dedup_window=timedelta(0),
                                         terminal_within=timedelta(minutes=5)).notification
    clock.advance(timedelta(minutes=6))
    return record


def escalation_lines(journal: Journal, notification_id: str) -> list[str]:
    detail = journal.get_notification(notification_id)
    assert detail is not None
    return [event.message for event in detail.events if event.step_id == PROGRESS_STEP]


def test_only_the_call_that_moves_the_status_gets_the_record(journal: Journal) -> None:
    record = journal.record_notification(new_notification(), dedup_window=timedelta(0),
                                         terminal_within=timedelta(minutes=5)).notification
    moved = journal.move_status(record.id, NotificationStatus.FAILED, "no spare host")
    assert moved is not None and (moved.id, moved.status, moved.status_reason) == (
        record.id, NotificationStatus.FAILED, "no spare host")
    assert journal.move_status(record.id, NotificationStatus.FAILED, "no spare host") is None
    with pytest.raises(IllegalTransitionError):
        journal.move_status(record.id, NotificationStatus.FINISHED)


def test_rabbitmq_down_the_recovery_still_ends_failed_with_a_warning_once(
        journal: Journal, clock: FakeClock, rabbitmq_down: str, caplog: pytest.LogCaptureFixture) -> None:
    record = overdue(journal, clock)
    replicas = [Escalation(EscalationOptions(rabbitmq_down, "p1"), journal, timeout=2) for _ in range(2)]
    with caplog.at_level(logging.WARNING, logger="vmha.escalation"):
        swept = [sweep(journal, 300, replica.failed) for replica in replicas]
    assert swept == [1, 0]
    detail = journal.get_notification(record.id)
    assert detail is not None and detail.notification.status is NotificationStatus.FAILED
    assert detail.notification.status_reason == "not ended within the ceiling of 300 s"
    warnings = [entry for entry in caplog.records if entry.getMessage() == "escalation not published"]
    assert [entry.__dict__["notification_id"] for entry in warnings] == [record.id]
    [line] = escalation_lines(journal, record.id)
    assert line.startswith(f"operators not called: cannot publish vmha.notification.failed for {record.id}")


def test_without_a_transport_nothing_is_published_nor_noted(journal: Journal, clock: FakeClock) -> None:
    record = overdue(journal, clock)
    assert sweep(journal, 300, Escalation(EscalationOptions("", ""), journal).failed) == 1
    assert escalation_lines(journal, record.id) == []
