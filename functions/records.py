"""What steps read back from the journal: their notification, earlier step results, instance progress.

A step message carries only ids; everything a step needs from earlier steps (the evacuation plan, the
reserved host taken) is the recorded result of those steps, which the runtime stores with each outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from vmha.context import StepContext
from vmha.contracts import RecoveryMethod, StepMessage
from vmha.journal import JsonObject, NotificationDetail, StepStatus, UnknownNotificationError

_DONE = frozenset({StepStatus.SUCCEEDED, StepStatus.SKIPPED})


def recovery(ctx: StepContext, message: StepMessage, *, with_events: bool = True) -> NotificationDetail:
    """The notification the message is about, with everything recorded so far (``with_events``: its
    progress events too, see ``Journal.get_notification``)."""
    detail = ctx.journal.get_notification(str(message.notification_id), with_events=with_events)
    if detail is None:
        raise UnknownNotificationError(str(message.notification_id))
    return detail


def branch(ctx: StepContext, message: StepMessage) -> NotificationDetail:
    """The notification as the message's server sees it (``Journal.get_branch``): the recovery-wide step runs
    and this server's step runs and progress, none of the other servers'."""
    detail = ctx.journal.get_branch(str(message.notification_id), str(message.instance_uuid))
    if detail is None:
        raise UnknownNotificationError(str(message.notification_id))
    return detail


def step_result(detail: NotificationDetail, step_id: str, instance_uuid: str = "") -> JsonObject | None:
    """The recorded result of a step that succeeded or was skipped, None if it has not."""
    for step in detail.steps:
        if (step.key.step_id, step.key.instance_uuid) == (step_id, instance_uuid) and step.status in _DONE:
            return step.result or {}
    return None


INTAKE = "intake"
"""The step id under which the runtime journals the intake run (its result holds segment and method)."""


def segment_and_method(detail: NotificationDetail) -> tuple[str | None, RecoveryMethod]:
    """The segment and recovery method fixed at intake (from the notification, else the intake result)."""
    record = detail.notification
    result = step_result(detail, INTAKE) or {}
    segment = record.segment or result.get("segment")
    method = record.recovery_method or result.get("recovery_method") or RecoveryMethod.AUTO.value
    return segment, RecoveryMethod(method)


def finished_at(detail: NotificationDetail, step_id: str, instance_uuid: str = "") -> datetime | None:
    """When a step succeeded or was skipped, None if it has not."""
    for step in detail.steps:
        if (step.key.step_id, step.key.instance_uuid) == (step_id, instance_uuid) and step.status in _DONE:
            return step.finished_at
    return None


def too_late(ctx: StepContext, message: StepMessage, since: datetime | None, seconds: float) -> bool:
    """Whether a step waiting since ``since`` (None: the notification's arrival) has used ``seconds`` up.

    Ceilings are measured from facts in the journal, so they hold whatever deadline the runtime gave the
    message; the message's deadline applies too.
    """
    start = since or recovery(ctx, message).notification.created_at
    return ctx.now() >= min(message.deadline, start + timedelta(seconds=seconds))
