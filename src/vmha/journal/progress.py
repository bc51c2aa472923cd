"""Per-instance progress, the operator-facing progress log, and the full view of one notification, in Core
statements (a server's branch writes its progress and reads its branch at every hop)."""

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
    JoinState,
    NotificationDetail,
    ProgressEvent,
    StepStatus,
)
from vmha.journal.schema import InstanceProgressRow, NotificationRow, ProgressEventRow, StepRunRow, known, table_of

_NOTIFICATIONS = table_of(NotificationRow)
_RUNS = table_of(StepRunRow)
_INSTANCES = table_of(InstanceProgressRow)
_EVENTS = table_of(ProgressEventRow)
_INSTANCE = sa.and_(_INSTANCES.c.notification_id == sa.bindparam("key_notification"),
                    _INSTANCES.c.instance_uuid == sa.bindparam("key_instance"))
_LOCKED_INSTANCE = sa.select(_INSTANCES).where(_INSTANCE).with_for_update()
_UPDATE_INSTANCE = sa.update(_INSTANCES).where(_INSTANCE)
_INSERT_INSTANCE = sa.insert(_INSTANCES)
_INSERT_EVENT = sa.insert(_EVENTS)
_COUNT_INSTANCES = sa.select(sa.func.count()).select_from(_INSTANCES).where(
    _INSTANCES.c.notification_id == sa.bindparam("notification"), _INSTANCES.c.status == sa.bindparam("state"))
_NOTIFICATION = sa.select(_NOTIFICATIONS).where(_NOTIFICATIONS.c.id == sa.bindparam("notification"))
_RUNS_OF = _RUNS.c.notification_id == sa.bindparam("notification")
_INSTANCES_OF = _INSTANCES.c.notification_id == sa.bindparam("notification")
_ALL_STEPS = sa.select(_RUNS).where(_RUNS_OF).order_by(
    _RUNS.c.started_at, _RUNS.c.step_id, _RUNS.c.instance_uuid)
_BRANCH_STEPS = _ALL_STEPS.where(_RUNS.c.instance_uuid.in_((sa.literal(""), sa.bindparam("instance"))))
_ALL_INSTANCES = sa.select(_INSTANCES).where(_INSTANCES_OF).order_by(
    _INSTANCES.c.started_at, _INSTANCES.c.instance_uuid)
_BRANCH_INSTANCES = _ALL_INSTANCES.where(_INSTANCES.c.instance_uuid == sa.bindparam("instance"))
_EVENTS_OF = sa.select(_EVENTS).where(_EVENTS.c.notification_id == sa.bindparam("notification")).order_by(
    _EVENTS.c.id)
_FAN_OUT = sa.select(_RUNS.c.result).where(
    _RUNS_OF, _RUNS.c.step_id == sa.bindparam("step"), _RUNS.c.instance_uuid == "")
_DONE_BRANCHES = sa.select(_RUNS.c.instance_uuid).where(
    _RUNS_OF, _RUNS.c.step_id == sa.bindparam("step"),
    _RUNS.c.status.in_((StepStatus.SUCCEEDED.value, StepStatus.SKIPPED.value)))
_FAILED_INSTANCES = sa.select(_INSTANCES.c.instance_uuid).where(
    _INSTANCES_OF, _INSTANCES.c.status == InstanceStatus.FAILED.value)
"""Statements built once (every hop runs some): building one costs more CPU than running it."""


def _require_notification(connection: sa.Connection, notification_id: str) -> None:
    if not known(connection, notification_id):
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
    connection = session.connection()
    key = {"key_notification": notification_id, "key_instance": instance_uuid}
    row = connection.execute(_LOCKED_INSTANCE, key).one_or_none()
    source_host, dest_host = hosts
    if row is not None:
        source_host = row.source_host if source_host is None else source_host
        dest_host = row.dest_host if dest_host is None else dest_host
    finished_at = now if status in FINAL_INSTANCE_STATUSES else None
    values = {"source_host": source_host, "dest_host": dest_host, "status": status.value, "message": message,
              "updated_at": now, "finished_at": finished_at}
    if row is None:
        _require_notification(connection, notification_id)
        connection.execute(_INSERT_INSTANCE, {"notification_id": notification_id, "instance_uuid": instance_uuid,
                                              "started_at": now, **values})
    else:
        connection.execute(_UPDATE_INSTANCE, {**key, **values})
    return InstanceProgress(notification_id=notification_id, instance_uuid=instance_uuid, status=status,
                            source_host=source_host, dest_host=dest_host, message=message,
                            started_at=now if row is None else row.started_at, updated_at=now,
                            finished_at=finished_at)


def count_instances(session: Session, notification_id: str, status: InstanceStatus) -> int:
    """How many instances of the notification have ``status``."""
    return session.connection().scalar(_COUNT_INSTANCES, {"notification": notification_id, "state": status.value}) or 0


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
    connection = session.connection()
    _require_notification(connection, notification_id)
    return append_event(connection, now, ProgressEvent(notification_id=notification_id, step_id=step_id,
                                                       instance_uuid=instance_uuid, at=now, message=message,
                                                       progress=progress))


def append_event(connection: sa.Connection, now: datetime, event: ProgressEvent) -> ProgressEvent:
    """Append ``event`` to the log of a notification the caller knows to exist (its step run or instance row
    is in this transaction)."""
    if not 0.0 <= event.progress <= 1.0:
        raise ValueError(f"progress must be within 0..1, got {event.progress}")
    connection.execute(_INSERT_EVENT, {
        "notification_id": event.notification_id, "step_id": event.step_id, "instance_uuid": event.instance_uuid,
        "at": now, "message": event.message, "progress": event.progress})
    return event


def join_state(session: Session, notification_id: str, fan_out_step: str, last_step: str) -> JoinState | None:
    """What a join decides on (``JoinState``): one row and two columns of instance ids, no whole records."""
    connection = session.connection()
    of = {"notification": notification_id}
    row = connection.execute(_NOTIFICATION, of).one_or_none()
    if row is None:
        return None
    return JoinState(
        notification=convert.notification(row),
        fan_out_result=connection.scalar(_FAN_OUT, {**of, "step": fan_out_step}),
        done=frozenset(connection.scalars(_DONE_BRANCHES, {**of, "step": last_step})),
        failed=frozenset(connection.scalars(_FAILED_INSTANCES, of)),
    )


def detail(session: Session, notification_id: str, with_events: bool = True,
           instance: str | None = None) -> NotificationDetail | None:
    """The notification with its step runs, instances and progress events (none unless ``with_events``),
    each oldest first; with ``instance``, of the instances only that one, and of the step runs only the
    recovery-wide ones and that instance's."""
    connection = session.connection()
    of = {"notification": notification_id}
    row = connection.execute(_NOTIFICATION, of).one_or_none()
    if row is None:
        return None
    if instance is None:
        steps, instances = connection.execute(_ALL_STEPS, of), connection.execute(_ALL_INSTANCES, of)
    else:
        branch = {**of, "instance": instance}
        steps, instances = connection.execute(_BRANCH_STEPS, branch), connection.execute(_BRANCH_INSTANCES, branch)
    events = connection.execute(_EVENTS_OF, of) if with_events else ()
    return NotificationDetail(
        notification=convert.notification(row),
        steps=tuple(convert.step(step) for step in steps),
        instances=tuple(convert.instance(item) for item in instances),
        events=tuple(convert.event(event) for event in events),
    )
