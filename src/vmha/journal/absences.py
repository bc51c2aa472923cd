"""Journal operations on absences (the survivors' clock of a self-fence lease), inside the caller's Session."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from vmha.journal.errors import UnknownNotificationError
from vmha.journal.records import Absence
from vmha.journal.schema import AbsenceRow, NotificationRow


def note(session: Session, now: datetime, notification_id: str, *, host: str, incarnation: str) -> Absence:
    """The absence of ``host`` under ``incarnation``: the stored one, else one starting ``now`` (replacing an
    absence under another incarnation: the host came back in between)."""
    row = session.get(AbsenceRow, (notification_id, host))
    if row is not None and row.incarnation == incarnation:
        return _absence(row)
    if session.get(NotificationRow, notification_id) is None:
        raise UnknownNotificationError(notification_id)
    if row is None:
        row = AbsenceRow(notification_id=notification_id, host=host, incarnation=incarnation, since=now)
        session.add(row)
    row.incarnation, row.since = incarnation, now
    session.flush()
    return _absence(row)


def clear(session: Session, notification_id: str, host: str) -> None:
    """Forget the absence of ``host``: it is back in its group."""
    row = session.get(AbsenceRow, (notification_id, host))
    if row is not None:
        session.delete(row)


def _absence(row: AbsenceRow) -> Absence:
    return Absence(notification_id=row.notification_id, host=row.host, incarnation=row.incarnation, since=row.since)
