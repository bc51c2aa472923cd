"""COMPUTE_HOST, per instance: ask Nova to evacuate one planned server off the failed host.

Target: the reserved host taken by ``take_reserved_host`` if any, otherwise none (the Nova scheduler picks;
the compute microversion is pinned below 2.95, so an ACTIVE server comes back ACTIVE). Before the request
the server is locked (unless someone else locked it) and, when its plan says so, reset to ERROR, which
clears a stuck task (spec §4.4). Converges: a server already off the failed host or already rebuilding is
left alone. Nova refusing because it still sees the host in use, or because of the server's state, is a
Retry (the boundary maps 409); ``confirm_instance_evacuated`` watches the result.
"""

from __future__ import annotations

from typing import Any

from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import records
from vmha.functions.evacuation import InstancePlan, planned
from vmha.functions.nova import BadRequest, at_boundary, backoff, get_server
from vmha.journal import InstanceStatus, NotificationDetail
from vmha.outcomes import Done, Fail, Outcome, Retry, Skipped

REBUILDING = frozenset({"rebuilding", "rebuild_block_device_mapping", "rebuild_spawning"})


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done once Nova accepted the evacuation (or it already happened); Skipped if the server is gone."""
    detail = records.recovery(ctx, message)
    plan = planned(detail, message.instance_uuid)
    if plan is None:
        return Fail(f"server {message.instance_uuid} is not in the evacuation plan")
    server = get_server(ctx.cloud, message.instance_uuid)
    if server is None:
        _record(ctx, message, InstanceStatus.IGNORED, "server deleted before evacuation")
        return Skipped(f"server {message.instance_uuid} no longer exists")
    if server.compute_host != ctx.notification.hostname or server.task_state in REBUILDING:
        return Done({"target": server.compute_host, "already": True})
    return _evacuate(ctx, message, server, plan, detail)


def _evacuate(
    ctx: StepContext, message: StepMessage, server: Any, plan: InstancePlan, detail: NotificationDetail
) -> Outcome:
    target = (records.step_result(detail, "take_reserved_host") or {}).get("reserved_host")
    since = records.finished_at(detail, "plan_evacuation")
    compute = ctx.cloud.compute
    if not plan.locked and not server.is_locked:
        compute.lock_server(server)
    if plan.reset_to_error and (server.vm_state != "error" or server.task_state is not None):
        compute.reset_server_state(server, "error")
    try:
        compute.evacuate_server(server, host=target)
    except BadRequest as error:  # Nova still counts the host as in use, or the target is not ready yet
        refusal = f"Nova refused to evacuate {server.id}: {error.details or error.message}"
        if not records.too_late(ctx, message, since, ctx.settings.ceilings.evacuation_seconds):
            return Retry(refusal, backoff(ctx.settings.retry, message.attempt))
        _record(ctx, message, InstanceStatus.FAILED, refusal)
        return Skipped(refusal)
    _record(ctx, message, InstanceStatus.ONGOING, f"evacuating to {target or 'the scheduler choice'}")
    return Done({"target": target})


def _record(ctx: StepContext, message: StepMessage, status: InstanceStatus, text: str) -> None:
    ctx.journal.record_instance_progress(str(message.notification_id), str(message.instance_uuid), status,
                                         source_host=ctx.notification.hostname, message=text)
