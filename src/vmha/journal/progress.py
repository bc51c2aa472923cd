"""Per-instance progress, the operator-facing progress log, and the full view of one notification."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vmha.journal import convert
from vmha.journal.errors import UnknownNotificationError
from vmha.journal.records import (
    FINAL_INSTANCE_STATUSES,
    InstanceProgress,
    InstanceStatus,
    NotificationDetail,
    ProgressEvent,
)
from vmha.journal.schema import InstanceProgressRow, NotificationRow, ProgressEventRow, StepRunRow


def _require_notification(session: Session, notification_id: str) -> None:
    if session.get(NotificationRow, notification_id) is None:
        raise UnknownNotificationError(notification_id)


def record_instance(
    session: Session,
    now: datetime,
    *,
    notification_id: str,
    instance_uuid: str,
    status: InstanceStatus,
    hosts: tuple[str | None, str | None],
    message: str | None,
) -> InstanceProgress:
    """Create or update the progress row of one instance; a None host keeps the one already stored."""
    row = session.get(InstanceProgressRow, (notification_id, instance_uuid), with_for_update=True)
    if row is None:
        _require_notification(session, notification_id)
        row = InstanceProgressRow(notification_id=notification_id, instance_uuid=instance_uuid, started_at=now)
        session.add(row)
    source_host, dest_host = hosts
    row.source_host = source_host if source_host is not None else row.source_host
    row.dest_host = dest_host if dest_host is not None else row.dest_host
    row.status = status.value
    row.message = message
    row.updated_at = now
    row.finished_at = now if status in FINAL_INSTANCE_STATUSES else None
    session.flush()
    return convert.instance(row)


def count_instances(session: Session, notification_id: str, status: InstanceStatus) -> int:
    """How many instances of the notification have ``status``."""
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(InstanceProgressRow)
        .where(InstanceProgressRow.notification_id == notification_id, InstanceProgressRow.status == status.value)
    ) or 0


def add_event(
    session: Session,
    now: datetime,
    *,
    notification_id: str,
    step_id: str,
    instance_uuid: str,
    message: str,
    progress: float,
) -> ProgressEvent:
    """Append one progress line; `progress` is the step's fraction done, 0..1."""
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be within 0..1, got {progress}")
    _require_notification(session, notification_id)
    row = ProgressEventRow(
        notification_id=notification_id,
        step_id=step_id,
        instance_uuid=instance_uuid,
        at=now,
        message=message,
        progress=progress,
    )
    session.add(row)
    session.flush()
    return convert.event(row)


def detail(session: Session, notification_id: str, with_events: bool = True,
           instance: str | None = None) -> NotificationDetail | None:
    """The notification with its step runs, instances and progress events (none unless ``with_events``),
    each oldest first; with ``instance``, of the instances only that one, and of the step runs only the
    recovery-wide ones and that instance's."""
    row = session.get(NotificationRow, notification_id)
    if row is None:
        return None
    steps = sa.select(StepRunRow).where(StepRunRow.notification_id == notification_id)
    instances = sa.select(InstanceProgressRow).where(InstanceProgressRow.notification_id == notification_id)
    if instance is not None:
        steps = steps.where(StepRunRow.instance_uuid.in_(("", instance)))
        instances = instances.where(InstanceProgressRow.instance_uuid == instance)
    events = session.scalars(
        sa.select(ProgressEventRow)
        .where(ProgressEventRow.notification_id == notification_id)
        .order_by(ProgressEventRow.id)
    ) if with_events else ()
    return NotificationDetail(
        notification=convert.notification(row),
        steps=tuple(convert.step(step) for step in session.scalars(
            steps.order_by(StepRunRow.started_at, StepRunRow.step_id, StepRunRow.instance_uuid))),
        instances=tuple(convert.instance(item) for item in session.scalars(
            instances.order_by(InstanceProgressRow.started_at, InstanceProgressRow.instance_uuid))),
        events=tuple(convert.event(event) for event in events),
    )
