"""Errors the journal raises on purpose; anything else is a database fault (sqlalchemy.exc.*)."""

from __future__ import annotations

from vmha.journal.records import NotificationStatus, StepKey


class JournalError(Exception):
    """Base of the journal's own errors."""


class UnknownNotificationError(JournalError, LookupError):
    """No notification has this id."""

    def __init__(self, notification_id: str) -> None:
        super().__init__(f"unknown notification {notification_id!r}")
        self.notification_id = notification_id


class IllegalTransitionError(JournalError):
    """The status state machine forbids moving from `current` to `requested`."""

    def __init__(self, notification_id: str, current: NotificationStatus, requested: NotificationStatus):
        super().__init__(f"notification {notification_id}: {current} -> {requested} is not allowed")
        self.notification_id = notification_id
        self.current = current
        self.requested = requested


class StaleStepClaimError(JournalError):
    """The claim no longer owns the step: its lease was taken over, or the run already ended."""

    def __init__(self, key: StepKey, attempt: int) -> None:
        super().__init__(f"step {key} attempt {attempt} is no longer the live run")
        self.key = key
        self.attempt = attempt
