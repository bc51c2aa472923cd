"""A failback's journal records: a notification of vmha's own type ``VMHA_FAILBACK`` on the returned host, its
payload naming the host recovery whose servers it moves back; one instance progress (a vmove) per server,
``source_host`` the host the recovery moved it to, ``dest_host`` the returned host; step runs keyed by
(failback, record kind), so every gateway replica reads and claims the same ones:

- ``failback_pass``: one pass over the failback (``vmha.failback.drive``); a pass that cannot finish ends
  failed, saying what it waits for, so the next look (on any replica) takes it over at once;
- ``failback_cancelled``: an operator cancelled it (``by``): no further migration starts.
"""

from __future__ import annotations

from datetime import timedelta

from vmha.contracts import FailureType
from vmha.journal import (
    UNDER_WAY,
    Journal,
    JsonObject,
    NotificationDetail,
    NotificationFilter,
    NotificationRecord,
    NotificationStatus,
    StepClaim,
    StepKey,
    StepStatus,
)

TYPE = "VMHA_FAILBACK"
PASS = "failback_pass"
CANCELLED = "failback_cancelled"
PROGRESS = "failback"
"""The step id of a failback's progress events."""
LEASE = timedelta(seconds=30)
"""How long one pass may take before another look (or replica) takes the failback over."""


def running(journal: Journal, host: str) -> NotificationRecord | None:
    """The failback of ``host`` under way, None if none."""
    found = journal.list_notifications(NotificationFilter(statuses=UNDER_WAY, type=TYPE, hostname=host), limit=1)
    return found[0] if found else None


def moving(journal: Journal) -> tuple[NotificationRecord, ...]:
    """Every failback running (at most one per host); one still ``new`` is being planned and is not driven yet
    (one left ``new`` by a crash ends failed at its deadline)."""
    return journal.list_notifications(NotificationFilter(statuses=frozenset({NotificationStatus.RUNNING}),
                                                         type=TYPE), limit=500)


def last_recovery(journal: Journal, host: str) -> NotificationRecord | None:
    """The newest host recovery of ``host``, None if the journal holds none."""
    found = journal.list_notifications(NotificationFilter(type=FailureType.COMPUTE_HOST.value, hostname=host),
                                       limit=1)
    return found[0] if found else None


def recovery_under_way(journal: Journal, host: str, segment: str) -> str | None:
    """The id of a host recovery of ``host`` or of another host of ``segment`` still new or running, None if none."""
    for wanted in (NotificationFilter(statuses=UNDER_WAY, type=FailureType.COMPUTE_HOST.value, hostname=host),
                   NotificationFilter(statuses=UNDER_WAY, type=FailureType.COMPUTE_HOST.value, segment=segment)):
        found = journal.list_notifications(wanted, limit=1)
        if found:
            return found[0].id
    return None


def failed_back(journal: Journal, host: str, recovery_id: str) -> str | None:
    """The id of a failback of ``host`` that moved back the servers of ``recovery_id`` (any status), None if none."""
    found = journal.list_notifications(NotificationFilter(type=TYPE, hostname=host), limit=20)
    return next((record.id for record in found if record.payload.get("recovery") == recovery_id), None)


def cancelled(detail: NotificationDetail) -> JsonObject | None:
    """Who cancelled the failback, None if no one did."""
    for run in detail.steps:
        if run.key.step_id == CANCELLED and run.status is StepStatus.SUCCEEDED:
            return run.result or {}
    return None


def cancel_once(journal: Journal, failback_id: str, by: str) -> bool:
    """Record the cancellation unless recorded already; whether this call recorded it."""
    start = journal.begin_step(StepKey(failback_id, CANCELLED), LEASE)
    if not isinstance(start, StepClaim):
        return False
    journal.finish_step(start, {"by": by})
    return True


def claim_pass(journal: Journal, failback_id: str) -> StepClaim | None:
    """This look's pass over the failback; None while another look holds it."""
    start = journal.begin_step(StepKey(failback_id, PASS), LEASE)
    return start if isinstance(start, StepClaim) else None
