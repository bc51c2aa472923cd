"""Step runs keyed by (notification, step, instance): the idempotency record of the recovery runtime.

`begin` writes `in_progress` first (with a lease) and only then may the caller act, so a redelivered step
message finds the record and never repeats a side effect: a finished step hands back its stored result, a
live lease means another worker is on it, an expired lease or a failed run may be taken over. The attempt
number is a fencing token: only the latest attempt may end the run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from vmha.journal import convert
from vmha.journal.errors import StaleStepClaimError, UnknownNotificationError
from vmha.journal.records import (
    JsonObject,
    StepBusy,
    StepClaim,
    StepDone,
    StepKey,
    StepRecord,
    StepStart,
    StepStatus,
)
from vmha.journal.schema import NotificationRow, StepRunRow

_DONE = frozenset({StepStatus.SUCCEEDED.value, StepStatus.SKIPPED.value})


def _primary_key(key: StepKey) -> tuple[str, str, str]:
    return (key.notification_id, key.step_id, key.instance_uuid)


def begin(session: Session, now: datetime, key: StepKey, lease: timedelta, owner: str | None = None) -> StepStart:
    """Claim the run of `key` for `lease` on behalf of the gateway replica `owner`, or say why not (already done,
    or busy elsewhere)."""
    row = session.get(StepRunRow, _primary_key(key), with_for_update=True)
    if row is None:
        return _first_attempt(session, now, key, lease, owner)
    if row.status in _DONE:
        return StepDone(convert.step(row))
    if row.status == StepStatus.IN_PROGRESS and row.lease_expires_at > now:
        return StepBusy(convert.step(row))
    row.status = StepStatus.IN_PROGRESS.value
    row.attempts += 1
    row.started_at = now
    row.lease_expires_at = now + lease
    row.finished_at = None
    row.updated_at = now
    row.owner = owner
    return StepClaim(key, row.attempts, row.lease_expires_at)


def _first_attempt(session: Session, now: datetime, key: StepKey, lease: timedelta, owner: str | None) -> StepClaim:
    """Insert the in-progress record; a concurrent first attempt makes the flush raise IntegrityError."""
    if session.get(NotificationRow, key.notification_id) is None:
        raise UnknownNotificationError(key.notification_id)
    row = StepRunRow(
        notification_id=key.notification_id,
        step_id=key.step_id,
        instance_uuid=key.instance_uuid,
        status=StepStatus.IN_PROGRESS.value,
        attempts=1,
        started_at=now,
        lease_expires_at=now + lease,
        updated_at=now,
        owner=owner,
    )
    session.add(row)
    session.flush()
    return StepClaim(key, 1, row.lease_expires_at)


def end(
    session: Session,
    now: datetime,
    claim: StepClaim,
    status: StepStatus,
    *,
    result: JsonObject | None = None,
    error: str | None = None,
) -> StepRecord:
    """End the run `claim` holds with `status`; raise StaleStepClaimError if it no longer holds it."""
    row = session.get(StepRunRow, _primary_key(claim.key), with_for_update=True)
    if row is None or row.status != StepStatus.IN_PROGRESS or row.attempts != claim.attempt:
        raise StaleStepClaimError(claim.key, claim.attempt)
    row.status = status.value
    row.result = None if result is None else dict(result)
    row.error = error
    row.finished_at = now
    row.updated_at = now
    session.flush()
    return convert.step(row)
