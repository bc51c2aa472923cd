"""Rows to frozen records: the only place rows turn into what callers see.

A row is an ORM object or a Core result row: each converter takes what has the columns it reads (a protocol of
attributes), so the hot paths that read and write with Core statements and the rest that use the ORM
share one conversion.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from vmha.journal.records import (
    InstanceProgress,
    InstanceStatus,
    NotificationRecord,
    NotificationStatus,
    ProgressEvent,
    StepKey,
    StepRecord,
    StepStatus,
)


class NotificationColumns(Protocol):
    id: str
    type: str
    hostname: str
    generated_time: datetime
    payload: dict[str, Any]
    source: str
    status: str
    status_reason: str | None
    segment: str | None
    recovery_method: str | None
    created_at: datetime
    updated_at: datetime
    deadline: datetime
    flow: list[str] | None


class _OfInstance(Protocol):
    notification_id: str
    instance_uuid: str


class StepColumns(_OfInstance, Protocol):
    step_id: str
    status: str
    attempts: int
    result: dict[str, Any] | None
    error: str | None
    started_at: datetime
    lease_expires_at: datetime
    finished_at: datetime | None


class InstanceColumns(_OfInstance, Protocol):
    status: str
    source_host: str | None
    dest_host: str | None
    message: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class EventColumns(_OfInstance, Protocol):
    step_id: str
    at: datetime
    message: str
    progress: float


def notification(row: NotificationColumns) -> NotificationRecord:
    return NotificationRecord(
        id=row.id,
        type=row.type,
        hostname=row.hostname,
        generated_time=row.generated_time,
        payload=dict(row.payload),
        source=row.source,
        status=NotificationStatus(row.status),
        status_reason=row.status_reason,
        segment=row.segment,
        recovery_method=row.recovery_method,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deadline=row.deadline,
        flow=None if row.flow is None else tuple(row.flow),
    )


def step(row: StepColumns) -> StepRecord:
    return StepRecord(
        key=StepKey(row.notification_id, row.step_id, row.instance_uuid),
        status=StepStatus(row.status),
        attempts=row.attempts,
        result=None if row.result is None else dict(row.result),
        error=row.error,
        started_at=row.started_at,
        lease_expires_at=row.lease_expires_at,
        finished_at=row.finished_at,
    )


def instance(row: InstanceColumns) -> InstanceProgress:
    return InstanceProgress(
        notification_id=row.notification_id,
        instance_uuid=row.instance_uuid,
        status=InstanceStatus(row.status),
        source_host=row.source_host,
        dest_host=row.dest_host,
        message=row.message,
        started_at=row.started_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


def event(row: EventColumns) -> ProgressEvent:
    return ProgressEvent(
        notification_id=row.notification_id,
        step_id=row.step_id,
        instance_uuid=row.instance_uuid,
        at=row.at,
        message=row.message,
        progress=row.progress,
    )
