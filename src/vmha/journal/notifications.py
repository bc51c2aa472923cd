"""Journal operations on notifications; each runs inside the caller's transaction (a Session)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vmha.journal import convert
from vmha.journal.errors import IllegalTransitionError, UnknownNotificationError
from vmha.journal.records import (
    JsonObject,
    NewNotification,
    NotificationFilter,
    NotificationRecord,
    NotificationStatus,
    Recorded,
    RecordOutcome,
)
from vmha.journal.schema import DedupClaimRow, NotificationRow, table_of
from vmha.journal.transitions import TERMINAL, allowed_sources

_NOTIFICATIONS = table_of(NotificationRow)
_BY_ID = sa.select(_NOTIFICATIONS).where(_NOTIFICATIONS.c.id == sa.bindparam("id"))


def dedup_key(notification_type: str, hostname: str, payload: JsonObject) -> str:
    """Hash of what makes two notifications the same failure report (payloads compared as JSON values)."""
    canonical = json.dumps([notification_type, hostname, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record(
    session: Session, now: datetime, new: NewNotification, dedup_window: timedelta, terminal_within: timedelta
) -> Recorded:
    """Insert `new` unless its id is known; mark it ignored when it duplicates one inside the window.

    A concurrent insert of the same id makes the flush raise IntegrityError: the caller retries the
    transaction, which then finds the row and answers ALREADY_KNOWN.
    """
    existing = session.get(NotificationRow, new.id)
    if existing is not None:
        return Recorded(RecordOutcome.ALREADY_KNOWN, convert.notification(existing))
    row = NotificationRow(
        id=new.id,
        type=new.type,
        hostname=new.hostname,
        generated_time=new.generated_time,
        payload=dict(new.payload),
        source=new.source,
        status=NotificationStatus.NEW.value,
        segment=new.segment,
        recovery_method=new.recovery_method,
        created_at=now,
        updated_at=now,
        deadline=now + terminal_within,
    )
    session.add(row)
    session.flush()
    original = _claim_dedup(session, now, row, dedup_window)
    if original is None:
        return Recorded(RecordOutcome.CREATED, convert.notification(row))
    row.status = NotificationStatus.IGNORED.value
    row.status_reason = f"duplicate of notification {original}"
    session.flush()
    return Recorded(RecordOutcome.DUPLICATE, convert.notification(row), duplicate_of=original)


def _claim_dedup(session: Session, now: datetime, row: NotificationRow, window: timedelta) -> str | None:
    """Make `row` the holder of its dedup key, or return the id of the holder accepted inside `window`."""
    key = dedup_key(row.type, row.hostname, row.payload)
    claim = session.get(DedupClaimRow, key, with_for_update=True)
    if claim is None:
        session.add(DedupClaimRow(dedup_key=key, notification_id=row.id, claimed_at=now))
        session.flush()
        return None
    if claim.claimed_at > now - window:
        return claim.notification_id
    claim.notification_id = row.id
    claim.claimed_at = now
    return None


def find_duplicate(
    session: Session,
    now: datetime,
    *,
    notification_type: str,
    hostname: str,
    payload: JsonObject,
    window: timedelta,
) -> NotificationRecord | None:
    """The notification accepted less than `window` ago for the same type, host and payload, if any."""
    claim = session.get(DedupClaimRow, dedup_key(notification_type, hostname, payload))
    if claim is None or claim.claimed_at <= now - window:
        return None
    return convert.notification(session.get_one(NotificationRow, claim.notification_id))


def set_status(
    session: Session, now: datetime, notification_id: str, status: NotificationStatus, reason: str | None
) -> NotificationRecord:
    """Move to `status` (compare-and-set on the allowed sources); the current status again is a no-op."""
    return move_status(session, now, notification_id, status, reason)[0]


def move_status(
    session: Session, now: datetime, notification_id: str, status: NotificationStatus, reason: str | None
) -> tuple[NotificationRecord, bool]:
    """`set_status`, and whether this call made the move (False: the notification had `status` already)."""
    sources = _values(allowed_sources(status))
    moved = (
        session.connection()
        .execute(
            sa.update(NotificationRow)
            .where(NotificationRow.id == notification_id, NotificationRow.status.in_(sources))
            .values(status=status.value, status_reason=reason, updated_at=now)
        )
        .rowcount
    )
    row = session.get(NotificationRow, notification_id, populate_existing=True)
    if row is None:
        raise UnknownNotificationError(notification_id)
    if not moved and row.status != status:
        raise IllegalTransitionError(notification_id, NotificationStatus(row.status), status)
    return convert.notification(row), bool(moved)


def set_flow(session: Session, notification_id: str, flow: tuple[str, ...]) -> NotificationRecord:
    """Store ``flow`` while the notification is ``new``; once it runs or has ended, its flow stays."""
    row = session.get(NotificationRow, notification_id, with_for_update=True)
    if row is None:
        raise UnknownNotificationError(notification_id)
    if row.status == NotificationStatus.NEW.value:
        row.flow = list(flow)
        session.flush()
    return convert.notification(row)


def get(session: Session, notification_id: str) -> NotificationRecord | None:
    """The notification (a Core read: every step hop makes one)."""
    row = session.connection().execute(_BY_ID, {"id": notification_id}).one_or_none()
    return None if row is None else convert.notification(row)


def page(
    session: Session, filters: NotificationFilter, limit: int, marker: str | None
) -> tuple[NotificationRecord, ...]:
    """Newest first (created_at, then id, descending); `marker` is the last id of the previous page."""
    query = (
        sa.select(NotificationRow)
        .where(*_conditions(filters))
        .order_by(NotificationRow.created_at.desc(), NotificationRow.id.desc())
        .limit(limit)
    )
    if marker is not None:
        last = session.get(NotificationRow, marker)
        if last is None:
            raise UnknownNotificationError(marker)
        query = query.where(
            sa.or_(
                NotificationRow.created_at < last.created_at,
                sa.and_(NotificationRow.created_at == last.created_at, NotificationRow.id < last.id),
            )
        )
    return tuple(convert.notification(row) for row in session.scalars(query))


def _conditions(filters: NotificationFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(NotificationRow.status.in_(_values(filters.statuses)))
    if filters.type is not None:
        conditions.append(NotificationRow.type == filters.type)
    if filters.hostname is not None:
        conditions.append(NotificationRow.hostname == filters.hostname)
    if filters.segment is not None:
        conditions.append(NotificationRow.segment == filters.segment)
    if filters.generated_since is not None:
        conditions.append(NotificationRow.generated_time >= filters.generated_since)
    return conditions


def past_deadline(session: Session, now: datetime, limit: int) -> tuple[NotificationRecord, ...]:
    """Non-terminal notifications whose deadline is at or before `now`, most overdue first."""
    query = (
        sa.select(NotificationRow)
        .where(
            NotificationRow.status.in_(_values(set(NotificationStatus) - TERMINAL)),
            NotificationRow.deadline <= now,
        )
        .order_by(NotificationRow.deadline, NotificationRow.id)
        .limit(limit)
    )
    return tuple(convert.notification(row) for row in session.scalars(query))


def _values(statuses: Iterable[NotificationStatus]) -> list[str]:
    """Plain strings for SQL parameters (some drivers refuse str subclasses such as StrEnum)."""
    return sorted(status.value for status in statuses)
