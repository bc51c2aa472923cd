"""Rows to frozen records: the only place ORM objects turn into what callers see."""

from __future__ import annotations

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
from vmha.journal.schema import InstanceProgressRow, NotificationRow, ProgressEventRow, StepRunRow


def notification(row: NotificationRow) -> NotificationRecord:
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


def step(row: StepRunRow) -> StepRecord:
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


def instance(row: InstanceProgressRow) -> InstanceProgress:
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


def event(row: ProgressEventRow) -> ProgressEvent:
    return ProgressEvent(
        notification_id=row.notification_id,
        step_id=row.step_id,
        instance_uuid=row.instance_uuid,
        at=row.at,
        message=row.message,
        progress=row.progress,
    )
