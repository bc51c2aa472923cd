"""COMPUTE_HOST (reserved-host flows): choose the spare host to evacuate to and take it into service.

By the segment's recovery method (fixed at intake):

- ``auto``: Skipped, the Nova scheduler picks the targets.
- ``auto_priority``: Skipped while another nova-compute service is up and enabled for the scheduler to
  use; otherwise a reserved host is taken, as Masakari falls back from auto to a reserved host.
- ``reserved_host``: the first available reserved host, in the segment's order; Fail if there is none.
- ``rh_priority``: the same, but Skipped (falling back to auto) if there is none.

Which reserved host is available: ``vmha.cloud.spares``. Taking it: optionally add it to the failed
host's aggregates that are not segments (``add_reserved_host_to_aggregate``), then enable its service.
The choice is written to the progress log before the first change, so a re-run takes the same host; the
previous disabled reason is recorded so that ``finish_host_recovery`` can put the spare back when the
attempt moved nothing onto it. Two recoveries of one segment never take the same spare: the choice is made
under the segment's reserved-hosts lock (``vmha.functions.locks``, held until the spare is enabled), and a
spare another recovery under way chose is not available even while it is still disabled.
"""

from __future__ import annotations

import contextlib
from typing import Any

from vmha.cloud.nova import compute_service
from vmha.cloud.segments import PREFIX, Segment, segment_named
from vmha.cloud.spares import first_spare, scheduler_has_room
from vmha.context import StepContext
from vmha.contracts import FailureType, RecoveryMethod, StepMessage
from vmha.functions import locks, records
from vmha.functions.locks import Scope
from vmha.functions.nova import Conflict, at_boundary
from vmha.journal import UNDER_WAY, NotificationDetail, NotificationFilter
from vmha.outcomes import Done, Fail, Outcome, Skipped

STEP = "take_reserved_host"
TAKING = "taking reserved host "


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done with the reserved host taken, Skipped for the scheduler, Fail when a spare is required."""
    detail = records.recovery(ctx, message)
    name, method = records.segment_and_method(detail)
    failed = ctx.notification.hostname
    if method is RecoveryMethod.AUTO:
        return Skipped("auto recovery: the Nova scheduler picks the targets")
    if method is RecoveryMethod.AUTO_PRIORITY and scheduler_has_room(ctx.cloud, failed):
        return Skipped("auto_priority: other hosts are up and enabled, the Nova scheduler picks the targets")
    segment = segment_named(ctx.cloud, name or "")
    return locks.exclusive(ctx, Scope.RESERVED_HOSTS, segment.name, lambda: _choose(ctx, message, segment, method))


def _choose(ctx: StepContext, message: StepMessage, segment: Segment, method: RecoveryMethod) -> Outcome:
    """Choose and take the spare (under the segment's reserved-hosts lock)."""
    detail = records.recovery(ctx, message)
    chosen = _chosen_before(detail)
    host = chosen or first_spare(ctx.cloud, segment, ctx.notification.hostname, _chosen_elsewhere(ctx, segment.name))
    if host is None:
        if method is RecoveryMethod.RH_PRIORITY:
            return Skipped(f"no reserved host available in segment {segment.name}: falling back to auto")
        return Fail(f"no reserved host available in segment {segment.name} ({method.value} recovery)")
    return _take(ctx, message, chosen, host)


def _take(ctx: StepContext, message: StepMessage, chosen: str | None, host: str) -> Outcome:
    if chosen is None:
        ctx.journal.add_progress_event(str(message.notification_id), STEP, TAKING + host, 0.0)
    service = compute_service(ctx.cloud, host)
    if service is None:
        return Fail(f"reserved host {host} has no nova-compute service")
    previous = service.disabled_reason if service.status == "disabled" else None
    added = []
    if ctx.settings.host_failure.add_reserved_host_to_aggregate:
        added = _add_to_aggregates(ctx.cloud, ctx.notification.hostname, host)
    if service.status != "enabled":
        ctx.cloud.compute.update_service(service, status="enabled")
    ctx.journal.add_progress_event(str(message.notification_id), STEP, f"reserved host {host} in service", 1.0)
    return Done({"reserved_host": host, "previous_reason": previous, "aggregates_added": added})


def _chosen_before(detail: NotificationDetail) -> str | None:
    for event in detail.events:
        if event.step_id == STEP and event.message.startswith(TAKING):
            return event.message.removeprefix(TAKING)
    return None


def _chosen_elsewhere(ctx: StepContext, segment: str) -> set[str]:
    """Spares chosen by the segment's other recoveries under way (maybe crashed before enabling them)."""
    found = ctx.journal.list_notifications(
        NotificationFilter(statuses=UNDER_WAY, type=FailureType.COMPUTE_HOST.value))
    details = [ctx.journal.get_notification(record.id) for record in found if record.id != str(ctx.notification.id)]
    return {host for detail in details if detail is not None and records.segment_and_method(detail)[0] == segment
            and (host := _chosen_before(detail)) is not None}


def _add_to_aggregates(cloud: Any, failed: str, host: str) -> list[str]:
    """Add ``host`` to the failed host's aggregates, except segments (Heat owns those); ids of those joined."""
    added = []
    for aggregate in cloud.compute.aggregates():
        metadata = aggregate.metadata or {}
        if any(key.startswith(PREFIX) for key in metadata) or failed not in (aggregate.hosts or ()):
            continue
        if host not in (aggregate.hosts or ()):
            with contextlib.suppress(Conflict):  # already a member: another run got there first
                cloud.compute.add_host_to_aggregate(aggregate, host)
            added.append(str(aggregate.id))
    return added
