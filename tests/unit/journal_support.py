"""Helpers of the journal tests: fake time and notifications to record."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from vmha.journal import Journal, JsonObject, NewNotification

DEDUP_WINDOW = timedelta(seconds=180)
TERMINAL_WITHIN = timedelta(hours=1)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def new_notification(
    hostname: str = "compute-1",
    *,
    notification_type: str = "COMPUTE_HOST",
    payload: JsonObject | None = None,
    generated_time: datetime = datetime(2026, 3, 1, 11, 59, tzinfo=UTC),
    segment: str | None = None,
) -> NewNotification:
    """A notification with a fresh id; the payload defaults to a host-down report."""
    return NewNotification(
        id=str(uuid.uuid4()),
        type=notification_type,
        hostname=hostname,
        generated_time=generated_time,
        payload=payload if payload is not None else {"event": "STOPPED", "host_status": "NORMAL"},
        source="test",
        segment=segment,
    )


def recorded_notification(journal: Journal) -> str:
    """The id of a new host-down notification recorded in ``journal``."""
    new = new_notification()
    journal.record_notification(new, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)
    return new.id
