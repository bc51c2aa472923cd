"""COMPUTE_HOST, join: close the recovery of a failed host once every per-instance branch has ended.

- The failed host stays out of service: its nova-compute service stays disabled with vmha's reason
  (Masakari's maintenance mark) until an operator enables it again.
- Reserved-host bookkeeping: a reserved host taken for this attempt that received no server (the
  attempt failed, or there was nothing to evacuate) goes back to the spare pool: disabled again with its
  previous reason and removed from the aggregates it was added to, under the segment's reserved-hosts
  lock (``vmha.functions.locks``), so that no recovery chooses it half put back. Masakari leaves it enabled.
- Outcome, from the per-instance progress of this notification only (an earlier attempt's failures
  never count): Done when no server failed, Fail listing the servers that did.
"""

from __future__ import annotations

import contextlib

from vmha.cloud.nova import compute_service, servers_on
from vmha.cloud.segments import disabled_reason
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import locks, records
from vmha.functions.locks import Scope
from vmha.functions.nova import Conflict, NotFound, at_boundary
from vmha.journal import InstanceStatus, JsonObject
from vmha.outcomes import Done, Fail, Outcome, Retry

STEP = "finish_host_recovery"
SPARE_REASON = "vmha: reserved host returned to the spare pool"
_UNSETTLED = frozenset({InstanceStatus.PENDING, InstanceStatus.ONGOING})


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done when every planned server was evacuated; Fail naming those that were not."""
    detail = records.recovery(ctx, message)
    _keep_disabled(ctx, message)
    moved = {item.instance_uuid: item.dest_host for item in detail.instances
             if item.status is InstanceStatus.SUCCEEDED}
    taken = records.step_result(detail, "take_reserved_host") or {}
    released = None
    if taken.get("reserved_host"):
        segment = records.segment_and_method(detail)[0] or ""
        released = locks.exclusive(ctx, Scope.RESERVED_HOSTS, segment,
                                   lambda: _release_if_unused(ctx, message, taken, set(moved.values())))
    if isinstance(released, Retry):
        return released
    for item in detail.instances:
        if item.status in _UNSETTLED:
            ctx.journal.record_instance_progress(item.notification_id, item.instance_uuid, InstanceStatus.FAILED,
                                                 message="not confirmed when the recovery ended")
    failed = [item for item in detail.instances if item.status in _UNSETTLED | {InstanceStatus.FAILED}]
    result = {"evacuated": moved, "failed": [item.instance_uuid for item in failed], "released": released}
    if failed:
        listed = "; ".join(f"{item.instance_uuid}: {item.message}" for item in failed)
        return Fail(f"{len(failed)} server(s) not evacuated from {ctx.notification.hostname}: {listed}")
    return Done(result)


def _keep_disabled(ctx: StepContext, message: StepMessage) -> None:
    service = compute_service(ctx.cloud, ctx.notification.hostname)
    if service is not None and service.status != "disabled":
        reason = disabled_reason(ctx.settings.host_failure.service_disable_reason, message.notification_id)
        ctx.cloud.compute.update_service(service, status="disabled", disabled_reason=reason)


def _release_if_unused(ctx: StepContext, message: StepMessage, taken: JsonObject, used: set[str | None]) -> str | None:
    host = taken.get("reserved_host")
    if not host or host in used or servers_on(ctx.cloud, host):
        return None
    service = compute_service(ctx.cloud, host)
    if service is not None and service.status != "disabled":
        reason = taken.get("previous_reason") or SPARE_REASON
        ctx.cloud.compute.update_service(service, status="disabled", disabled_reason=reason)
    for aggregate in taken.get("aggregates_added", ()):
        with contextlib.suppress(Conflict, NotFound):  # already removed
            ctx.cloud.compute.remove_host_from_aggregate(aggregate, host)
    ctx.journal.add_progress_event(str(message.notification_id), STEP, f"reserved host {host} back to spare", 1.0)
    return str(host)

