"""Journal records in Masakari's shapes: notifications, recovery workflow details (1.1), vmoves (1.3).

Masakari's times are naive UTC without an offset. The workflow details list each step that ran, in the
order it first reported progress (intake first), with taskflow's state names: RUNNING while a run holds
its lease, FAILURE when its last run failed, SUCCESS when it succeeded or had nothing to do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from vmha.cloud.segments import host_uuid
from vmha.journal import InstanceProgress, NotificationDetail, NotificationRecord, StepStatus

_STATES = {StepStatus.IN_PROGRESS: "RUNNING", StepStatus.FAILED: "FAILURE", StepStatus.SUCCEEDED: "SUCCESS",
           StepStatus.SKIPPED: "SUCCESS"}


def masakari_time(moment: datetime | None) -> str | None:
    """``2017-04-21T12:09:44.000000``: UTC, no offset, as Masakari writes times."""
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def notification_view(record: NotificationRecord) -> dict[str, Any]:
    return {
        "id": record.id, "notification_uuid": record.id, "type": record.type, "hostname": record.hostname,
        "source_host_uuid": host_uuid(record.hostname), "generated_time": masakari_time(record.generated_time),
        "payload": dict(record.payload), "status": record.status.value, "message": record.status_reason,
        "failover_segment_name": record.segment, "recovery_method": record.recovery_method,
        "created_at": masakari_time(record.created_at), "updated_at": masakari_time(record.updated_at),
        "deleted": False, "deleted_at": None,
    }


def workflow_details(detail: NotificationDetail) -> list[dict[str, Any]]:
    """Masakari's ``recovery_workflow_details`` of a notification."""
    order: dict[str, list[dict[str, Any]]] = {}
    for event in detail.events:
        message = f"{event.instance_uuid}: {event.message}" if event.instance_uuid else event.message
        order.setdefault(event.step_id, []).append(
            {"timestamp": masakari_time(event.at), "progress": event.progress, "message": message})
    states: dict[str, set[StepStatus]] = {}
    for step in detail.steps:
        states.setdefault(step.key.step_id, set()).add(step.status)
    return [{"name": name, "state": _state(states.get(name, set())), "progress": events[-1]["progress"],
             "progress_details": events} for name, events in order.items()]


def vmove_view(instance: InstanceProgress, kind: str = "evacuation") -> dict[str, Any]:
    """A vmove: one server a host recovery evacuated (``evacuation``) or a failback moved back
    (``live_migration``)."""
    return {
        "id": instance.instance_uuid, "uuid": instance.instance_uuid, "notification_uuid": instance.notification_id,
        "instance_uuid": instance.instance_uuid, "instance_name": None, "source_host": instance.source_host,
        "dest_host": instance.dest_host, "start_time": masakari_time(instance.started_at),
        "end_time": masakari_time(instance.finished_at), "type": kind, "status": instance.status.value,
        "message": instance.message, "created_at": masakari_time(instance.started_at),
        "updated_at": masakari_time(instance.updated_at), "deleted": False, "deleted_at": None,
    }


def _state(statuses: set[StepStatus]) -> str:
    for status in (StepStatus.IN_PROGRESS, StepStatus.FAILED, StepStatus.SUCCEEDED, StepStatus.SKIPPED):
        if status in statuses:
            return _STATES[status]
    return "SUCCESS"
