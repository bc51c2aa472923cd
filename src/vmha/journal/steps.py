"""Step runs keyed by (notification, step, instance): the idempotency record of the recovery runtime.

`begin` writes `in_progress` first (with a lease) and only then may the caller act, so a redelivered step
message finds the record and never repeats a side effect: a finished step hands back its stored result, a
live lease means another worker is on it, an expired lease or a failed run may be taken over. The attempt
number is a fencing token: only the latest attempt may end the run. Core statements (every step hop runs
two of these calls).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
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
from vmha.journal.schema import StepRunRow, known, table_of

_DONE = frozenset({StepStatus.SUCCEEDED.value, StepStatus.SKIPPED.value})
_RUNS = table_of(StepRunRow)
_KEY = sa.and_(_RUNS.c.notification_id == sa.bindparam("key_notification"),
               _RUNS.c.step_id == sa.bindparam("key_step"), _RUNS.c.instance_uuid == sa.bindparam("key_instance"))
_LOCKED = sa.select(_RUNS).where(_KEY).with_for_update()
_UPDATE = sa.update(_RUNS).where(_KEY)
_INSERT = sa.insert(_RUNS)
"""Statements built once (a hop runs them thousands of times): building one costs more CPU than running it."""


def _key(key: StepKey) -> dict[str, str]:
    return {"key_notification": key.notification_id, "key_step": key.step_id, "key_instance": key.instance_uuid}


def _locked(connection: sa.Connection, key: StepKey) -> sa.Row[Any] | None:
    return connection.execute(_LOCKED, _key(key)).one_or_none()


def begin(session: Session, now: datetime, key: StepKey, lease: timedelta, owner: str | None = None) -> StepStart:
    """Claim the run of `key` for `lease` on behalf of the gateway replica `owner`, or say why not (already done,
    or busy elsewhere)."""
    connection = session.connection()
    row = _locked(connection, key)
    if row is None:
        return _first_attempt(connection, now, key, lease, owner)
    if row.status in _DONE:
        return StepDone(convert.step(row))
    if row.status == StepStatus.IN_PROGRESS and row.lease_expires_at > now:
        return StepBusy(convert.step(row))
    attempt = row.attempts + 1
    connection.execute(_UPDATE, {**_key(key), "status": StepStatus.IN_PROGRESS.value, "attempts": attempt,
                                 "started_at": now, "lease_expires_at": now + lease, "finished_at": None,
                                 "updated_at": now, "owner": owner})
    return StepClaim(key, attempt, now + lease)


def _first_attempt(connection: sa.Connection, now: datetime, key: StepKey, lease: timedelta,
                   owner: str | None) -> StepClaim:
    """Insert the in-progress record; a concurrent first attempt makes the insert raise IntegrityError."""
    if not known(connection, key.notification_id):
        raise UnknownNotificationError(key.notification_id)
    connection.execute(_INSERT, {
        "notification_id": key.notification_id, "step_id": key.step_id, "instance_uuid": key.instance_uuid,
        "status": StepStatus.IN_PROGRESS.value, "attempts": 1, "started_at": now, "lease_expires_at": now + lease,
        "updated_at": now, "owner": owner})
    return StepClaim(key, 1, now + lease)


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
    connection = session.connection()
    row = _locked(connection, claim.key)
    if row is None or row.status != StepStatus.IN_PROGRESS or row.attempts != claim.attempt:
        raise StaleStepClaimError(claim.key, claim.attempt)
    stored = None if result is None else dict(result)
    connection.execute(_UPDATE, {**_key(claim.key), "status": status.value, "result": stored, "error": error,
                                 "finished_at": now, "updated_at": now})
    return StepRecord(key=claim.key, status=status, attempts=row.attempts, result=stored, error=error,
                      started_at=row.started_at, lease_expires_at=row.lease_expires_at, finished_at=now)
