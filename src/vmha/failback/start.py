"""Starting and cancelling a failback: the refusals (each a status and a reason, nothing changed) and the
failback's notification with one vmove per server of the host's last recovery.

Checked and created under one lock per host (``vmha.functions.locks``, on the coordination backend), so that
two replicas asked at once start one failback.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from vmha.cloud.nova import compute_service, get_server
from vmha.cloud.segments import FailbackMode, Segment, SegmentError, segment_of
from vmha.contracts import Settings
from vmha.failback import records
from vmha.failback.selection import skip_reason
from vmha.functions.locks import LockUnavailableError, Scope, backend_url, held, lock_name
from vmha.journal import (
    InstanceStatus,
    Journal,
    NewNotification,
    NotificationDetail,
    NotificationRecord,
    NotificationStatus,
    utc_now,
)

log = logging.getLogger(__name__)


class FailbackRefusedError(Exception):
    """A failback cannot start (or be cancelled) now; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def start_failback(settings: Settings, journal: Journal, cloud: Any, host: str, *, by: str) -> NotificationRecord:
    """Start moving back to ``host`` the servers its last recovery evacuated; FailbackRefusedError if it cannot."""
    service, segment = _found(cloud, host)
    _in_service(service, host, segment)
    try:
        with held(backend_url(settings), lock_name(Scope.FAILBACK, host)):
            return _create(settings, journal, cloud, host, segment, by=by)
    except LockUnavailableError as error:
        raise FailbackRefusedError(503, f"the failback of {host} cannot be started now: {error}") from error


def after_return(settings: Settings, journal: Journal, cloud: Any, recovery: NotificationDetail) -> None:
    """The failback of a host just returned to service, if its segment says ``vmha:failback auto`` (once per
    recovery); a refusal is logged and written into the recovery's progress."""
    host, recovery_id = recovery.notification.hostname, recovery.notification.id
    try:
        segment = segment_of(cloud, host)
        if segment is None or segment.failback is not FailbackMode.AUTO:
            return
        if records.failed_back(journal, host, recovery_id) is None:
            started = start_failback(settings, journal, cloud, host, by="auto")
            journal.add_progress_event(recovery_id, records.PROGRESS, f"failback started: notification {started.id}",
                                       1.0)
    except (FailbackRefusedError, SegmentError) as error:
        log.warning("failback not started", extra={"host": host, "reason": str(error)})
        journal.add_progress_event(recovery_id, records.PROGRESS, f"failback not started: {error}", 1.0)


def cancel_failback(journal: Journal, cloud: Any, host: str, *, by: str) -> NotificationRecord:
    """Stop starting migrations in the failback of ``host`` under way (those running finish)."""
    _found(cloud, host)
    found = records.running(journal, host)
    if found is None:
        raise FailbackRefusedError(409, f"no failback of {host} is under way")
    if records.cancel_once(journal, found.id, by):
        journal.add_progress_event(found.id, records.PROGRESS, f"cancelled by {by}: no further migration starts",
                                   0.0)
    return found


def _found(cloud: Any, host: str) -> tuple[Any, Segment]:
    """The host's nova-compute service and segment; FailbackRefusedError 404 if it has none."""
    service = compute_service(cloud, host)
    if service is None:
        raise FailbackRefusedError(404, f"Nova has no nova-compute service on {host}")
    try:
        segment = segment_of(cloud, host)
    except SegmentError as error:
        raise FailbackRefusedError(409, str(error)) from error
    if segment is None:
        raise FailbackRefusedError(404, f"{host} is in no vmha segment")
    return service, segment


def _in_service(service: Any, host: str, segment: Segment) -> None:
    state = [why for why, out in (("disabled", service.status != "enabled"), ("forced down", service.is_forced_down),
                                  ("down", service.state != "up"),
                                  (f"in maintenance in segment {segment.name}", host in segment.maintenance_hosts))
             if out]
    if state:
        raise FailbackRefusedError(409, f"{host} is not back in service: its nova-compute is {', '.join(state)}")


def _create(settings: Settings, journal: Journal, cloud: Any, host: str, segment: Segment, *,
            by: str) -> NotificationRecord:
    """The failback's notification and its vmoves, once the journal says nothing stands in the way."""
    busy = records.recovery_under_way(journal, host, segment.name)
    if busy is not None:
        raise FailbackRefusedError(409, f"a recovery in segment {segment.name} is under way (notification {busy}): "
                                        "no failback while it runs")
    running = records.running(journal, host)
    if running is not None:
        raise FailbackRefusedError(409, f"a failback of {host} is already under way (notification {running.id})")
    recovery = records.last_recovery(journal, host)
    detail = journal.get_notification(recovery.id, with_events=False) if recovery is not None else None
    if detail is None:
        raise FailbackRefusedError(409, f"the journal holds no recovery of {host}: nothing to move back")
    new = NewNotification(id=str(uuid.uuid4()), type=records.TYPE, hostname=host, generated_time=utc_now(),
                          payload={"recovery": detail.notification.id, "by": by}, source=f"vmha-failback/{by}",
                          segment=segment.name)
    record = journal.record_notification(new, dedup_window=timedelta(0),
                                         terminal_within=timedelta(seconds=settings.ceilings.notification_seconds))
    moving = _plan(journal, cloud, record.notification.id, host, detail)
    if not moving:
        return journal.set_status(record.notification.id, NotificationStatus.FINISHED,
                                  f"nothing to move back to {host} from recovery {detail.notification.id}")
    journal.add_progress_event(record.notification.id, records.PROGRESS,
                               f"{moving} server(s) of recovery {detail.notification.id} to move back to {host} "
                               f"(asked by {by})", 0.0)
    log.info("failback started", extra={"host": host, "notification_id": record.notification.id, "servers": moving})
    return journal.set_status(record.notification.id, NotificationStatus.RUNNING)


def _plan(journal: Journal, cloud: Any, failback_id: str, host: str, recovery: NotificationDetail) -> int:
    """One vmove per server the recovery evacuated: pending, or ignored with the reason; how many are pending."""
    pending = 0
    for item in recovery.instances:
        if item.status is not InstanceStatus.SUCCEEDED or not item.dest_host:
            continue
        reason = skip_reason(get_server(cloud, item.instance_uuid), host, item.dest_host)
        status = InstanceStatus.PENDING if reason is None else InstanceStatus.IGNORED
        journal.record_instance_progress(failback_id, item.instance_uuid, status, source_host=item.dest_host,
                                         dest_host=host, message=reason or "to move back")
        pending += reason is None
    return pending
