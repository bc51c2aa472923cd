"""The journal records of a return, as step runs of the recovery that took the host out (one host per
recovery): keyed by (notification, record kind), so every gateway replica reads and claims the same ones.

- ``return_decided``: the return is decided, automatically or by an operator (``by``), and why; every later
  look converges it, whatever the segment says;
- ``return_to_service``: the return converging, one step per look (a pass that cannot finish ends failed,
  saying what it waits for, so the next look takes it over at once), succeeded once the host is back in
  service (its result says how);
- ``return_unforced``: forced_down was lifted; its result keeps the service record's ``updated_at`` just
  after, since the host counts as back only once its nova-compute wrote the record again;
- ``return_held``: the host came back and stays out (the result and the progress log say why).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from vmha.contracts import FailureType
from vmha.journal import (
    UNDER_WAY,
    Journal,
    JsonObject,
    NotificationDetail,
    NotificationFilter,
    StepClaim,
    StepKey,
    StepStatus,
)

DECIDED = "return_decided"
RETURNED = "return_to_service"
UNFORCED = "return_unforced"
HELD = "return_held"
LEASE = timedelta(seconds=20)
"""How long one look's pass over a return may take before another look (or replica) takes it over."""
RECENT = 10
"""How many of a host's newest recoveries are read for its last return (the flap window's check)."""


def result(detail: NotificationDetail, kind: str) -> JsonObject | None:
    """The result of the record ``kind`` if it succeeded, None otherwise."""
    for run in detail.steps:
        if run.key.step_id == kind and run.status is StepStatus.SUCCEEDED:
            return run.result or {}
    return None


def decided(detail: NotificationDetail) -> str | None:
    """Who decided the return of the host (``auto`` or ``operator``; it may still be converging), None if no one."""
    found = result(detail, DECIDED)
    return None if found is None else str(found.get("by"))


def record_once(journal: Journal, notification_id: str, kind: str, content: JsonObject) -> bool:
    """Store ``content`` under ``kind`` unless stored already; whether this call stored it."""
    start = journal.begin_step(StepKey(notification_id, kind), LEASE)
    if not isinstance(start, StepClaim):
        return False
    journal.finish_step(start, content)
    return True


def claim_return(journal: Journal, notification_id: str) -> StepClaim | None:
    """This look's turn at converging the return; None when it is done or another look is on it."""
    start = journal.begin_step(StepKey(notification_id, RETURNED), LEASE)
    return start if isinstance(start, StepClaim) else None


def recovery_under_way(journal: Journal, host: str) -> str | None:
    """The id of a recovery of ``host`` that is new or running, None if none."""
    found = journal.list_notifications(NotificationFilter(statuses=UNDER_WAY, hostname=host), limit=1)
    return found[0].id if found else None


def segment_under_way(journal: Journal, segment: str) -> bool:
    """Whether a recovery in ``segment`` is new or running (it may be about to use the segment's spares)."""
    return bool(journal.list_notifications(NotificationFilter(statuses=UNDER_WAY, segment=segment), limit=1))


def last_return(journal: Journal, host: str, before: datetime, window_seconds: int) -> datetime | None:
    """When ``host`` was last returned to service within ``window_seconds`` before ``before``, None if not.

    Read from the host's ``RECENT`` newest recoveries, whenever they began: a host may have stayed out long."""
    since = before - timedelta(seconds=window_seconds)
    found = journal.list_notifications(NotificationFilter(type=FailureType.COMPUTE_HOST.value, hostname=host),
                                       limit=RECENT)
    times = []
    for record in found:
        detail = journal.get_notification(record.id, with_events=False)
        for run in detail.steps if detail is not None else ():
            if run.key.step_id == RETURNED and run.status is StepStatus.SUCCEEDED and run.finished_at is not None:
                times.append(run.finished_at)
    return max((moment for moment in times if since <= moment <= before), default=None)
