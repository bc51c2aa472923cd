"""One pass over a failback under way, on the gateway's sweeper (never a sleeping loop): settle the servers
whose live migration runs (ACTIVE on the host: succeeded; back on their source with no task, in ERROR, gone,
or not back within ``failback.migration_seconds``: failed), then start the next pending ones, at most
``failback.max_parallel`` at a time, unless an operator cancelled it (then the pending ones are ignored and
the running ones finish). The failback ends once no server is pending or moving: finished, or failed when a
server failed.

A server's vmove is marked moving before Nova is asked (write-ahead: a pass that dies in between leaves it to
time out, never to be asked twice). Every call goes through the gateway's OpenStack connection, whose
requests carry its timeout.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from typing import Any

from openstack import exceptions as sdk_errors

from vmha.cloud.nova import get_server
from vmha.contracts import Settings
from vmha.failback import records
from vmha.failback.selection import skip_reason
from vmha.journal import InstanceProgress, InstanceStatus, Journal, NotificationStatus, utc_now

log = logging.getLogger(__name__)


def look_once(settings: Settings, journal: Journal, cloud: Any) -> None:
    """One pass over every failback under way; a pass that failed is logged and taken again next time."""
    for record in records.moving(journal):
        try:
            drive(settings, journal, cloud, record.id)
        except sdk_errors.SDKException as error:
            log.warning("failback: pass failed", extra={"notification_id": record.id, "error": str(error)})


def drive(settings: Settings, journal: Journal, cloud: Any, failback_id: str) -> None:
    """One pass over the failback ``failback_id``, unless another look holds it."""
    claim = records.claim_pass(journal, failback_id)
    if claim is None:
        return
    try:
        detail = journal.get_notification(failback_id, with_events=False)
        assert detail is not None  # listed as under way just before; notifications are never deleted
        moving = [item for item in detail.instances if item.status is InstanceStatus.ONGOING]
        still = sum(not _settle(settings, journal, cloud, item) for item in moving)
        pending = [item for item in detail.instances if item.status is InstanceStatus.PENDING]
        if records.cancelled(detail) is not None:
            for item in pending:
                _end(journal, item, InstanceStatus.IGNORED, "cancelled before its migration started")
            pending = []
        free = max(0, settings.failback.max_parallel - still)
        for item in pending[:free]:
            still += _start(journal, cloud, item)
        waiting = still + len(pending[free:])
    except BaseException:
        journal.fail_step(claim, "the pass failed; the next look takes it again")
        raise
    if waiting:
        journal.fail_step(claim, f"not yet: {waiting} server(s) moving or waiting")
        return
    summary = _end_failback(journal, failback_id)
    journal.finish_step(claim, summary)


def _settle(settings: Settings, journal: Journal, cloud: Any, item: InstanceProgress) -> bool:
    """Record the server's end if its migration ended; whether it did."""
    host, server = item.dest_host, get_server(cloud, item.instance_uuid)
    if server is None:
        return _end(journal, item, InstanceStatus.FAILED, "deleted during its failback")
    if server.status == "ERROR":
        return _end(journal, item, InstanceStatus.FAILED, f"went to ERROR on {server.compute_host}: {server.fault}")
    if server.task_state is None and server.status == "ACTIVE" and server.compute_host == host:
        return _end(journal, item, InstanceStatus.SUCCEEDED, f"back on {host}")
    if server.task_state is None and server.compute_host != host:
        return _end(journal, item, InstanceStatus.FAILED, f"Nova did not move it: {server.status} on "
                                                          f"{server.compute_host} (see its instance actions)")
    if utc_now() - item.updated_at > timedelta(seconds=settings.failback.migration_seconds):
        return _end(journal, item, InstanceStatus.FAILED, f"not back within {settings.failback.migration_seconds} s "
                                                          f"({server.status}, task {server.task_state}, on "
                                                          f"{server.compute_host})")
    return False


def _start(journal: Journal, cloud: Any, item: InstanceProgress) -> int:
    """Ask Nova to live-migrate the server back (checked again first); 1 if it is moving now, 0 if not."""
    host, source = item.dest_host or "", item.source_host or ""
    reason = skip_reason(get_server(cloud, item.instance_uuid), host, source)
    if reason is not None:
        _end(journal, item, InstanceStatus.IGNORED, reason)
        return 0
    journal.record_instance_progress(item.notification_id, item.instance_uuid, InstanceStatus.ONGOING,
                                     message=f"live migration to {host} asked")
    try:
        cloud.compute.live_migrate_server(item.instance_uuid, host=host, block_migration="auto")
    except sdk_errors.HttpException as error:
        _end(journal, item, InstanceStatus.FAILED, f"Nova refused the live migration: {error.details or error}")
        return 0
    journal.add_progress_event(item.notification_id, records.PROGRESS, f"moving back from {source} to {host}", 0.5,
                               item.instance_uuid)
    return 1


def _end(journal: Journal, item: InstanceProgress, status: InstanceStatus, message: str) -> bool:
    journal.record_instance_progress(item.notification_id, item.instance_uuid, status, message=message)
    journal.add_progress_event(item.notification_id, records.PROGRESS, f"{status.value}: {message}", 1.0,
                               item.instance_uuid)
    return True


def _end_failback(journal: Journal, failback_id: str) -> dict[str, Any]:
    """End the failback with a summary of its servers, finished unless one failed."""
    detail = journal.get_notification(failback_id, with_events=False)
    assert detail is not None
    counts = Counter(item.status.value for item in detail.instances)
    text = ", ".join(f"{counts[status.value]} {status.value}" for status in InstanceStatus if counts[status.value])
    cancelled = records.cancelled(detail)
    reason = (f"cancelled by {cancelled.get('by')}: " if cancelled is not None else "") + (text or "no server")
    status = NotificationStatus.FAILED if counts[InstanceStatus.FAILED.value] else NotificationStatus.FINISHED
    journal.move_status(failback_id, status, reason)
    journal.add_progress_event(failback_id, records.PROGRESS, f"failback {status.value}: {reason}", 1.0)
    log.info("failback ended", extra={"notification_id": failback_id, "status": status.value, "reason": reason})
    return {"status": status.value, "reason": reason, **counts}
