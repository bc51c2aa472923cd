"""COMPUTE_HOST, per instance: ask Nova to evacuate one planned server off the failed host.

First of all, the proof that the host is dead: a fence recorded for this notification's host, or its
segment's explicit opt-out (``vmha.functions.proof``). Without it nothing is asked of Nova, whatever path
the message came by: a permanent failure with the reason.

Target: the reserved host taken by ``take_reserved_host`` if any, otherwise none (the Nova scheduler picks;
the compute microversion is pinned below 2.95, so an ACTIVE server comes back ACTIVE). Before the request
the server is locked (unless someone else locked it) and, when its plan says so, reset to ERROR, which
clears a stuck task (spec §4.4). Converges: a server already off the failed host or already rebuilding is
left alone. Nova refusing because it still sees the host in use, or because of the server's state, is a
Retry (the boundary maps 409); ``confirm_instance_evacuated`` watches the result.

At most ``host_failure.max_parallel_evacuations`` servers of one notification are evacuating at once:
``ongoing`` in the journal, from the slot taken here until ``confirm_instance_evacuated`` settles them. The
count is taken from the journal under the notification's evacuations lock (``vmha.functions.locks``), so
replicas agree. A server finding no free slot waits, without asking Nova anything, until another server's
branch ends in this gateway (its slot is then free), or at most ``SLOT_WAIT_SECONDS`` for a slot freed
elsewhere. A server that turns out gone or already moved gives its slot back when it is settled (ignored
here, or by ``confirm_instance_evacuated``).
"""

from __future__ import annotations

from typing import Any

from vmha.cloud.nova import get_server
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import locks, records
from vmha.functions.evacuation import InstancePlan, planned
from vmha.functions.locks import Scope
from vmha.functions.nova import BadRequest, at_boundary
from vmha.functions.proof import proof_of_death
from vmha.journal import InstanceStatus, NotificationDetail
from vmha.outcomes import Done, Fail, Outcome, Retry, Skipped

REBUILDING = frozenset({"rebuilding", "rebuild_block_device_mapping", "rebuild_spawning"})
SLOT_WAIT_SECONDS = 10.0
"""Longest wait of a server for a free slot: slots freed by another gateway replica, or by a server Nova
refused for now, do not wake the waiters of this one."""
SLOT_TAKEN = "evacuation slot taken"
"""The instance's ``ongoing`` message and progress event when its evacuation takes a slot."""


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done once Nova accepted the evacuation (or it already happened); Skipped if the server is gone; Fail
    without proof that the host is dead."""
    proof = proof_of_death(ctx, str(message.notification_id))
    if isinstance(proof, Fail):
        return proof
    detail = records.recovery(ctx, message, with_events=False)
    plan = planned(detail, message.instance_uuid)
    if plan is None:
        return Fail(f"server {message.instance_uuid} is not in the evacuation plan")
    waiting = locks.exclusive(ctx, Scope.EVACUATIONS, str(message.notification_id), lambda: _take_slot(ctx, message))
    if waiting is not None:
        return waiting
    server = get_server(ctx.cloud, message.instance_uuid)
    if server is None:
        _record(ctx, message, InstanceStatus.IGNORED, "server deleted before evacuation")
        return Skipped(f"server {message.instance_uuid} no longer exists")
    if server.compute_host != ctx.notification.hostname or server.task_state in REBUILDING:
        return Done({"target": server.compute_host, "already": True})
    return _evacuate(ctx, message, server, plan, detail)


def _take_slot(ctx: StepContext, message: StepMessage) -> Retry | None:
    """Mark the server ``ongoing`` unless max_parallel_evacuations others are (Retry: wait for a free slot).

    Under the notification's evacuations lock; a server already ``ongoing`` (an earlier run of this step)
    keeps its slot.
    """
    uuid, limit = str(message.instance_uuid), ctx.settings.host_failure.max_parallel_evacuations
    instances = records.recovery(ctx, message, with_events=False).instances
    if any(item.instance_uuid == uuid and item.status is InstanceStatus.ONGOING for item in instances):
        return None
    in_flight = sum(1 for item in instances if item.status is InstanceStatus.ONGOING)
    if in_flight >= limit:
        return Retry(f"{in_flight} evacuations in flight, at most {limit} (host_failure.max_parallel_evacuations)",
                     SLOT_WAIT_SECONDS, until_branch_ends=True)
    _record(ctx, message, InstanceStatus.ONGOING, SLOT_TAKEN)
    ctx.journal.add_progress_event(str(message.notification_id), message.step, SLOT_TAKEN, 0.5, uuid)
    return None


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
            _record(ctx, message, InstanceStatus.PENDING, refusal)  # its slot is free while it waits
            return Retry(refusal, ctx.settings.retry.recheck_interval_seconds)
        _record(ctx, message, InstanceStatus.FAILED, refusal)
        return Skipped(refusal)
    _record(ctx, message, InstanceStatus.ONGOING, f"evacuating to {target or 'the scheduler choice'}")
    return Done({"target": target})


def _record(ctx: StepContext, message: StepMessage, status: InstanceStatus, text: str) -> None:
    ctx.journal.record_instance_progress(str(message.notification_id), str(message.instance_uuid), status,
                                         source_host=ctx.notification.hostname, message=text)
