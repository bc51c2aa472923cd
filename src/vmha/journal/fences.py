"""Journal operations on fence records; each runs inside the caller's transaction (a Session)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from vmha.journal.errors import UnknownNotificationError
from vmha.journal.records import FenceMethod, FenceRecord, JsonObject
from vmha.journal.schema import FenceRow, NotificationRow


def record(session: Session, now: datetime, notification_id: str, *, host: str, method: FenceMethod,
           evidence: JsonObject) -> FenceRecord:
    """Store the fence of ``host`` for the notification unless one is stored already (the first one stays)."""
    existing = session.get(FenceRow, (notification_id, host))
    if existing is not None:
        return _record(existing)
    if session.get(NotificationRow, notification_id) is None:
        raise UnknownNotificationError(notification_id)
    row = FenceRow(notification_id=notification_id, host=host, method=method.value, evidence=dict(evidence),
                   fenced_at=now)
    session.add(row)
    session.flush()
    return _record(row)


def get(session: Session, notification_id: str, host: str) -> FenceRecord | None:
    row = session.get(FenceRow, (notification_id, host))
    return None if row is None else _record(row)


def _record(row: FenceRow) -> FenceRecord:
    return FenceRecord(notification_id=row.notification_id, host=row.host, method=FenceMethod(row.method),
                       evidence=dict(row.evidence), fenced_at=row.fenced_at)
