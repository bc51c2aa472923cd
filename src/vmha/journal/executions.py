"""Journal operations on function executions and notification counts; each runs in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vmha.journal.records import ExecutionRecord, ExecutionStatus, JsonObject, NotificationStatus
from vmha.journal.schema import ExecutionRow, NotificationRow


def begin(session: Session, now: datetime, *, execution_id: str, function: str, event: JsonObject,
          sync: bool) -> ExecutionRecord:
    """Insert a running execution (IntegrityError if the id is taken)."""
    row = ExecutionRow(id=execution_id, function=function, status=ExecutionStatus.RUNNING.value, sync=sync,
                       input=dict(event), output=None, duration_seconds=None, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return _record(row)


def end(session: Session, now: datetime, execution_id: str, *, status: ExecutionStatus, output: JsonObject,
        duration_seconds: float) -> ExecutionRecord:
    """Store the outcome of a running execution; an ended one keeps its first outcome."""
    if status is ExecutionStatus.RUNNING:
        raise ValueError("an execution ends with success or failed")
    row = session.get(ExecutionRow, execution_id, with_for_update=True)
    if row is None:
        raise KeyError(execution_id)
    if row.status == ExecutionStatus.RUNNING.value:
        row.status, row.output, row.duration_seconds, row.updated_at = status.value, dict(output), duration_seconds, now
        session.flush()
    return _record(row)


def get(session: Session, execution_id: str) -> ExecutionRecord | None:
    row = session.get(ExecutionRow, execution_id)
    return None if row is None else _record(row)


def count_notifications(session: Session) -> dict[NotificationStatus, int]:
    """How many notifications have each status (every status present, zeros included)."""
    counts = dict.fromkeys(NotificationStatus, 0)
    query = sa.select(NotificationRow.status, sa.func.count()).group_by(NotificationRow.status)
    for status, count in session.execute(query):
        counts[NotificationStatus(status)] = count
    return counts


def _record(row: ExecutionRow) -> ExecutionRecord:
    return ExecutionRecord(
        id=row.id, function=row.function, status=ExecutionStatus(row.status), sync=row.sync, input=dict(row.input),
        output=None if row.output is None else dict(row.output), duration_seconds=row.duration_seconds,
        created_at=row.created_at, updated_at=row.updated_at,
    )
