"""Rows to frozen records: the only place rows turn into what callers see.

A row is an ORM object or a Core result row: each converter takes what has the columns it reads (a protocol of
read-only attributes), so the hot paths that read and write with Core statements and the rest that use the ORM
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
    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def hostname(self) -> str: ...
    @property
    def generated_time(self) -> datetime: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def source(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def status_reason(self) -> str | None: ...
    @property
    def segment(self) -> str | None: ...
    @property
    def recovery_method(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def deadline(self) -> datetime: ...
    @property
    def flow(self) -> list[str] | None: ...


class StepColumns(Protocol):
    @property
    def notification_id(self) -> str: ...
    @property
    def step_id(self) -> str: ...
    @property
    def instance_uuid(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def result(self) -> dict[str, Any] | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def lease_expires_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...


class InstanceColumns(Protocol):
    @property
    def notification_id(self) -> str: ...
    @property
    def instance_uuid(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def source_host(self) -> str | None: ...
    @property
    def dest_host(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def finished_at(self) -> datetime | None: ...


class EventColumns(Protocol):
    @property
    def notification_id(self) -> str: ...
    @property
    def step_id(self) -> str: ...
    @property
    def instance_uuid(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def message(self) -> str: ...
    @property
    def progress(self) -> float: ...


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
