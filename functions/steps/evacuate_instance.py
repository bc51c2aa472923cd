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

At most ``vmha.functions.pacing``'s window of servers of one notification are evacuating at once (the operator's
``host_failure.max_parallel_evacuations`` is its hard ceiling; it shrinks while Nova shows trouble): ``ongoing`` in
the journal, from the slot taken here until ``confirm_instance_evacuated`` settles them. The run reads its branch of
the recovery once (``records.branch``), which gives the plan. When every planned server fits in the window at once,
none can ever wait and there is nothing to count: the slot is taken outside the lock, so the servers' journal reads
and writes do not queue behind each other. Otherwise the servers ``ongoing`` are counted in the journal (one query)
under the notification's evacuations lock (``vmha.functions.locks``), so replicas agree. A server finding no free
slot waits, without asking Nova anything, until another server's branch ends in this gateway (its slot is then
free), or at most ``SLOT_WAIT_SECONDS`` for a slot freed elsewhere. A server that turns out gone or already moved
gives its slot back when it is settled (ignored here, or by ``confirm_instance_evacuated``).

A server's first run (still ``pending`` as planned: nothing was ever asked of Nova for it in this recovery),
when the plan found it active, stopped or in error with no task, acts on the state the plan read moments ago
instead of reading the server again (one Nova call less per server); any other run (a retry, a run after a
crash, however far the earlier one got, a server to reset to ERROR) reads it first, so that nothing is asked
twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from openstack import exceptions as sdk_errors

from vmha.cloud.nova import get_server
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import locks, pacing, records
from vmha.functions.evacuation import PLANNED, InstancePlan, planned, planned_count
from vmha.functions.locks import Scope
from vmha.functions.nova import BOUNDARY_ERRORS, BadRequest, NotFound, at_boundary
from vmha.functions.proof import proof_of_death
from vmha.journal import InstanceProgress, InstanceStatus, NotificationDetail, ProgressNote
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
    found = _mine(ctx, message)
    if not isinstance(found, Mine):
        return found
    slot: Slot | Retry
    if planned_count(found.detail) <= pacing.WINDOW.size(ctx.settings.host_failure.max_parallel_evacuations):
        slot = _taken(ctx, message, found)  # no planned server can ever wait: nothing to count
    else:
        slot = locks.exclusive(ctx, Scope.EVACUATIONS, str(message.notification_id),
                               lambda: _take_slot(ctx, message, found))
    if not isinstance(slot, Slot):
        return slot
    return _first(ctx, message, slot) if slot.first else _again(ctx, message, slot)


@dataclass(frozen=True)
class Slot:
    """A slot taken (or kept) by this run, with what the journal said when the run began."""

    plan: InstancePlan
    detail: NotificationDetail
    first: bool
    """Nothing was ever asked of Nova for this server in this recovery (still ``pending`` as planned) and the
    plan found it in a plain state (a server to reset to ERROR is always read again: a re-plan may have found
    an earlier recovery's evacuation still rebuilding it)."""


def _first(ctx: StepContext, message: StepMessage, slot: Slot) -> Outcome:
    """The first run of a server in a plain state: as the plan read it."""
    try:
        return _evacuate(ctx, message, slot, locked=slot.plan.locked, reset=False)
    except NotFound:
        return _gone(ctx, message)


def _again(ctx: StepContext, message: StepMessage, slot: Slot) -> Outcome:
    """A later run: the server read again, left alone if an earlier run's evacuation already took it."""
    server = get_server(ctx.cloud, message.instance_uuid)
    if server is None:
        return _gone(ctx, message)
    if server.compute_host != ctx.notification.hostname or server.task_state in REBUILDING:
        return Done({"target": server.compute_host, "already": True})
    reset = slot.plan.reset_to_error and (server.vm_state != "error" or server.task_state is not None)
    return _evacuate(ctx, message, slot, locked=bool(server.is_locked), reset=reset)


@dataclass(frozen=True)
class Mine:
    """The server's branch of the recovery as the journal had it when the run began, its plan and its progress
    (None: none recorded). Still true under the evacuations lock: the plan never changes, and the server's
    progress changes only in its own branch, whose step runs are one at a time."""

    detail: NotificationDetail
    plan: InstancePlan
    progress: InstanceProgress | None


def _mine(ctx: StepContext, message: StepMessage) -> Mine | Fail:
    """The server's branch of the recovery as the journal has it now, its plan and its progress; Fail if it was
    not planned."""
    detail = records.branch(ctx, message)
    plan = planned(detail, message.instance_uuid)
    if plan is None:
        return Fail(f"server {message.instance_uuid} is not in the evacuation plan")
    uuid = str(message.instance_uuid)
    return Mine(detail, plan, next((item for item in detail.instances if item.instance_uuid == uuid), None))


def _take_slot(ctx: StepContext, message: StepMessage, mine: Mine) -> Slot | Retry:
    """Mark the server ``ongoing`` unless the window's count of others are (Retry: wait for a free slot).

    Under the notification's evacuations lock, with a fresh count of the servers ``ongoing`` (one query, not
    the whole recovery read again); a server already ``ongoing`` (an earlier run of this step) keeps its slot.
    """
    if not _ongoing(mine):
        ceiling = ctx.settings.host_failure.max_parallel_evacuations
        in_flight = ctx.journal.count_instances(str(message.notification_id), InstanceStatus.ONGOING)
        limit = pacing.WINDOW.size(ceiling)
        if in_flight >= limit:
            return Retry(f"{in_flight} evacuations in flight, at most {limit} now "
                         f"(host_failure.max_parallel_evacuations {ceiling}, fewer while Nova shows trouble)",
                         SLOT_WAIT_SECONDS, until_branch_ends=True)
    return _taken(ctx, message, mine)


def _ongoing(mine: Mine) -> bool:
    return mine.progress is not None and mine.progress.status is InstanceStatus.ONGOING


def _taken(ctx: StepContext, message: StepMessage, mine: Mine) -> Slot:
    """The slot: kept by a server already ``ongoing`` (an earlier run of this step), else taken now (the
    instance marked ``ongoing`` and the progress log told, in one journal write)."""
    if _ongoing(mine):
        return Slot(mine.plan, mine.detail, first=False)
    ctx.journal.record_instance_progress(str(message.notification_id), str(message.instance_uuid),
                                         InstanceStatus.ONGOING, source_host=ctx.notification.hostname,
                                         message=SLOT_TAKEN, note=ProgressNote(SLOT_TAKEN, 0.5),
                                         step_id=message.step)
    progress = mine.progress
    untouched = progress is not None and progress.status is InstanceStatus.PENDING and progress.message == PLANNED
    return Slot(mine.plan, mine.detail, first=untouched and not mine.plan.reset_to_error)


def _evacuate(ctx: StepContext, message: StepMessage, slot: Slot, *, locked: bool, reset: bool) -> Outcome:
    """Lock the server unless it is (or was before the recovery), reset it to ERROR if ``reset``, evacuate it."""
    uuid, detail = str(message.instance_uuid), slot.detail
    target = (records.step_result(detail, "take_reserved_host") or {}).get("reserved_host")
    since = records.finished_at(detail, "plan_evacuation")
    compute = ctx.cloud.compute
    if not slot.plan.locked and not locked:
        compute.lock_server(uuid)
    if reset:
        compute.reset_server_state(uuid, "error")
    ceiling, asked = ctx.settings.host_failure.max_parallel_evacuations, time.monotonic()
    try:
        compute.evacuate_server(uuid, host=target)
    except BadRequest as error:  # Nova still counts the host as in use, or the target is not ready yet
        refusal = f"Nova refused to evacuate {uuid}: {error.details or error.message}"
        if not records.too_late(ctx, message, since, ctx.settings.ceilings.evacuation_seconds):
            _record(ctx, message, InstanceStatus.PENDING, refusal)  # its slot is free while it waits
            return Retry(refusal, ctx.settings.retry.recheck_interval_seconds)
        _record(ctx, message, InstanceStatus.FAILED, refusal)
        return Skipped(refusal)
    except BOUNDARY_ERRORS as error:
        if not isinstance(error, sdk_errors.HttpException) or (error.status_code or 500) >= 500:
            pacing.WINDOW.troubled(ceiling)
        raise
    pacing.WINDOW.accepted(time.monotonic() - asked, ceiling)
    _record(ctx, message, InstanceStatus.ONGOING, f"evacuating to {target or 'the scheduler choice'}")
    return Done({"target": target})


def _gone(ctx: StepContext, message: StepMessage) -> Outcome:
    _record(ctx, message, InstanceStatus.IGNORED, "server deleted before evacuation")
    return Skipped(f"server {message.instance_uuid} no longer exists")


def _record(ctx: StepContext, message: StepMessage, status: InstanceStatus, text: str) -> None:
    ctx.journal.record_instance_progress(str(message.notification_id), str(message.instance_uuid), status,
                                         source_host=ctx.notification.hostname, message=text)
