"""Admission: the rules a notification passes before it may become a recovery, the same for every entry.

The Masakari API (``POST /v1/notifications``) and the Aodh webhook (both through ``vmha.api.notify``), and the
consumers' intake of what monitors post to the notifications queue (``vmha.functions.triage``) apply them here
and act on one typed decision: ``Admitted``, or ``Refused`` naming the ``Rule`` that refused. The rules, in
this order:

1. ``ALREADY_RECEIVED``: the id was recorded before and is past ``new`` (one still ``new`` never had its flow
   posted: it is judged again).
2. ``INVALID_SEGMENT``: the host's segment has invalid metadata, or the host is in several segments;
   ``UNKNOWN_HOST``: the host is in no segment (``vmha.cloud.segments``): nothing can recover it.
3. ``MAINTENANCE``: the host is listed in its segment's maintenance hosts, or vmha disabled its nova-compute in
   an earlier recovery, except for a host failure after a process failure's recovery (the host then failed as
   a whole: its servers still need evacuating).
4. ``DUPLICATE``: the same type, host and payload were accepted within ``dedup_window_seconds``.
5. ``DISABLED_SEGMENT``: the segment is disabled (Masakari records such a notification, then ignores it).

``judge`` only reads (Nova, the journal); ``record`` is admission's one write: the notification, with its
segment, stored once (a duplicate that raced past ``judge`` is caught by the journal's own dedup claim).
Nova's and the journal's errors pass through. Admission decides whether a notification may start a recovery,
never how: the flow, and what it proves before any evacuation (the host powered off), stay with the intake
function and the steps.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any

from vmha.cloud.nova import compute_service
from vmha.cloud.segments import Segment, SegmentError, disabling_notification, segment_of
from vmha.contracts import FailureType, Notification, Settings
from vmha.journal import Journal, NewNotification, NotificationRecord, NotificationStatus, RecordOutcome


class Rule(StrEnum):
    """The admission rule that refused a notification."""

    ALREADY_RECEIVED = "already_received"
    INVALID_SEGMENT = "invalid_segment"
    UNKNOWN_HOST = "unknown_host"
    MAINTENANCE = "maintenance"
    DUPLICATE = "duplicate"
    DISABLED_SEGMENT = "disabled_segment"


@dataclass(frozen=True)
class Admissible:
    """No rule refuses the notification: its host's segment and nova-compute service (None if Nova has none)."""

    segment: Segment
    service: Any | None


@dataclass(frozen=True)
class Admitted:
    """The notification is recorded and may start a recovery."""

    record: NotificationRecord
    segment: Segment
    service: Any | None


@dataclass(frozen=True)
class Refused:
    """A rule refused the notification, saying why; ``record`` is its journal record once written."""

    rule: Rule
    reason: str
    segment: Segment | None = None
    record: NotificationRecord | None = None


Decision = Admitted | Refused


def admit(notification: Notification, cloud: Any, journal: Journal, settings: Settings) -> Decision:
    """Judge ``notification`` and record it, refused or not (a report sent to the queue is always journaled)."""
    return record(notification, judge(notification, cloud, journal, settings), journal, settings)


def judge(notification: Notification, cloud: Any, journal: Journal, settings: Settings) -> Admissible | Refused:
    """The rules, reading Nova and the journal and writing nothing."""
    known = journal.get_notification_record(str(notification.id))
    if known is not None and known.status is not NotificationStatus.NEW:
        return Refused(Rule.ALREADY_RECEIVED,
                       f"notification {notification.id} was already received (status {known.status.value})")
    try:
        segment, service = _segment_and_service(cloud, notification.hostname)
    except SegmentError as error:
        return Refused(Rule.INVALID_SEGMENT, str(error))
    if segment is None:
        return Refused(Rule.UNKNOWN_HOST,
                       f"host {notification.hostname} is in no vmha segment: nothing can recover this failure")
    refused = _maintenance(notification, segment, service, journal) or (
        None if known is not None else _duplicate(notification, journal, settings))
    if refused is not None:
        return replace(refused, segment=segment)
    if not segment.enabled:
        return Refused(Rule.DISABLED_SEGMENT, f"segment {segment.name} is disabled", segment)
    return Admissible(segment, service)


def record(notification: Notification, judged: Admissible | Refused, journal: Journal,
           settings: Settings) -> Decision:
    """Store ``notification`` once with its segment; a duplicate or an id past ``new`` comes back Refused."""
    segment = judged.segment
    new = NewNotification.of(notification, None if segment is None else segment.name,
                             None if segment is None else segment.recovery_method.value)
    recorded = journal.record_notification(
        new, dedup_window=timedelta(seconds=settings.dedup_window_seconds),
        terminal_within=timedelta(seconds=settings.ceilings.notification_seconds))
    stored = recorded.notification
    if recorded.outcome is RecordOutcome.DUPLICATE:
        return Refused(Rule.DUPLICATE, f"duplicate of notification {recorded.duplicate_of}", segment, stored)
    if stored.status is not NotificationStatus.NEW:
        return Refused(Rule.ALREADY_RECEIVED,
                       f"notification {notification.id} was already received (status {stored.status.value})",
                       segment, stored)
    if isinstance(judged, Refused):
        return replace(judged, record=stored)
    return Admitted(stored, judged.segment, judged.service)


def _segment_and_service(cloud: Any, host: str) -> tuple[Segment | None, Any | None]:
    """The host's segment and nova-compute service, asked at once (each is a round trip to Nova, and admission
    is on the path of every recovery); SegmentError for an invalid segment."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="vmha-admission") as pool:
        segment = pool.submit(segment_of, cloud, host)
        service = pool.submit(compute_service, cloud, host)
        return segment.result(), service.result()


def _maintenance(notification: Notification, segment: Segment, service: Any | None,
                 journal: Journal) -> Refused | None:
    host = notification.hostname
    if host in segment.maintenance_hosts:
        return Refused(Rule.MAINTENANCE, f"host {host} is in maintenance (segment {segment.name})")
    disabled_for = None if service is None else disabling_notification(service)
    if disabled_for is None or _host_failure_after_process_failure(notification, disabled_for, journal):
        return None
    return Refused(Rule.MAINTENANCE, f"host {host} is in maintenance since the recovery of notification {disabled_for}")


def _host_failure_after_process_failure(notification: Notification, disabled_for: str, journal: Journal) -> bool:
    if notification.type is not FailureType.COMPUTE_HOST:
        return False
    earlier = journal.get_notification_record(disabled_for)
    return earlier is not None and earlier.type == FailureType.PROCESS.value


def _duplicate(notification: Notification, journal: Journal, settings: Settings) -> Refused | None:
    twin = journal.find_recent_duplicate(notification.type.value, notification.hostname,
                                         notification.payload.to_dict(),
                                         timedelta(seconds=settings.dedup_window_seconds))
    return None if twin is None else Refused(Rule.DUPLICATE, f"duplicate of notification {twin.id}")
