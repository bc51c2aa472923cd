"""COMPUTE_HOST: power the failed host off through its BMC and prove it, before anything is moved off it.

Evacuating a host that may still be running would let two copies of a server write to the same disk, so a
host is only recovered once its BMC reports it powered off, and that answer is recorded as the host's fence
(``Journal.record_fence``: method, BMC, answer, time), the proof ``evacuate_instance`` requires
(``vmha.functions.proof``):

- already off: Done (nothing is sent to the BMC); a fence recorded before: Done at once (another replica,
  or an earlier run, proved it);
- on: power off at once, read the state back; still on: Retry after the recheck interval;
- BMC unreachable: Retry until ``ceilings.fencing_seconds`` after the notification arrived, then Fail (a run
  retried after that fails at once, so runs cut off at the step's timeout cannot go on forever);
- BMC unreachable in a segment saying ``vmha:fencing required_or_selffence``: the host's self-fence lease
  (``vmha.functions.self_fenced``): Done, method ``self_fence``, once the host has stayed out of its group
  for the lease + margin; the ceiling is extended by the lease + margin for such segments;
- no fencing file, no BMC for the host, unreadable file, credentials refused, or a host in no segment: Fail
  at once.

A Fail ends the notification failed ("fence not confirmed"): nothing is evacuated. A segment with
``vmha:fencing: disabled`` (an explicit opt-out; the default is ``required``) is Skipped with a warning, and
its ``opted_out`` record says so in the journal. BMC addresses and credentials come from
``settings.fencing_file`` (``vmha.fencing``); no reason or result ever carries a password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vmha.cloud.segments import Fencing, Segment, segment_named
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.fencing import BmcAccess, BmcAuthError, BmcError, PowerDriver, PowerState, power_driver
from vmha.functions import lease, records
from vmha.functions.bmc import bmc_of
from vmha.functions.lease import Look
from vmha.functions.nova import at_boundary, recheck_delay
from vmha.functions.proof import opt_out_warning, waive
from vmha.functions.self_fenced import by_lease
from vmha.journal import FenceMethod, FenceRecord, NotificationDetail
from vmha.outcomes import Done, Fail, Outcome, Retry, Skipped
from vmha.self_fence import MARGIN_SECONDS

Connect = Callable[[BmcAccess], PowerDriver]


@dataclass(frozen=True)
class Seams:
    """How ``fence_host`` reaches the BMCs and the segment groups (tests pass fakes)."""

    connect: Connect = power_driver
    look: Look = lease.look


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done once the host's BMC reports it off (its fence recorded); Skipped where the segment opts out."""
    return fence(message, ctx, Seams())


def fence(message: StepMessage, ctx: StepContext, seams: Seams) -> Outcome:
    """``run`` with the seams given."""
    host, notification_id = ctx.notification.hostname, str(message.notification_id)
    recorded = ctx.journal.get_fence(notification_id, host)
    if recorded is not None:
        return _outcome(recorded)
    detail = records.recovery(ctx, message)
    name, _method = records.segment_and_method(detail)
    if name is None:
        return Fail(f"fence not confirmed: host {host} is in no segment, nothing says how to fence it")
    segment = segment_named(ctx.cloud, name)
    if segment.fencing is Fencing.DISABLED:
        return _outcome(waive(ctx, notification_id, segment))
    return _through_bmc(message, ctx, seams, detail, segment)


def _through_bmc(message: StepMessage, ctx: StepContext, seams: Seams, detail: NotificationDetail,
                 segment: Segment) -> Outcome:
    """Power the host off through its BMC and record the BMC's answer as its fence (or, where the segment allows
    it and the BMC is silent, the host's self-fence)."""
    host, notification_id = ctx.notification.hostname, str(message.notification_id)
    access = bmc_of(host, ctx.settings.fencing_file)
    if isinstance(access, Fail):
        return access
    ceiling = _ceiling(ctx, segment)
    if message.attempt > 1 and records.too_late(ctx, message, None, ceiling):
        return _wait(message, ctx, f"last attempt: {_last_error(detail, message.step)}", ceiling)
    try:
        done = _power_off(seams.connect(access), access)
    except BmcAuthError as error:
        return Fail(f"fence not confirmed: the BMC of {host} refused the credentials: {error}")
    except BmcError as error:
        return _silent(message, ctx, segment, f"cannot reach the BMC of {host}: {error}", seams.look)
    if done is None:
        return _wait(message, ctx, f"the BMC of {host} still reports it powered on", ceiling)
    return _outcome(ctx.journal.record_fence(notification_id, host, FenceMethod(access.protocol.value), done))


def _silent(message: StepMessage, ctx: StepContext, segment: Segment, silent: str, look_up: Look) -> Outcome:
    """The BMC does not answer: wait for it, or, where the segment allows it, for the host's self-fence lease."""
    proof: FenceRecord | Fail | str = silent
    if segment.fencing is Fencing.REQUIRED_OR_SELF_FENCE:
        proof = by_lease(ctx, str(message.notification_id), segment, silent, look_up)
    if isinstance(proof, str):
        return _wait(message, ctx, proof, _ceiling(ctx, segment))
    return proof if isinstance(proof, Fail) else _outcome(proof)


def _outcome(fence: FenceRecord) -> Done | Skipped:
    if fence.proves_death:
        return Done({**fence.evidence, "method": fence.method.value})
    return Skipped(opt_out_warning(str(fence.evidence.get("segment")), fence.host), dict(fence.evidence))


def _power_off(driver: PowerDriver, access: BmcAccess) -> dict[str, object] | None:
    """The BMC's answer once the host is off (powering it off if it was on), None while it still reports on."""
    result = {"host": access.host, "bmc": f"{access.protocol.value} {access.address}", "power": "off"}
    if driver.power_state() is PowerState.OFF:
        return {**result, "powered_off": False}
    driver.power_off()
    if driver.power_state() is PowerState.OFF:
        return {**result, "powered_off": True}
    return None


def _ceiling(ctx: StepContext, segment: Segment) -> float:
    """``ceilings.fencing_seconds``, extended by the self-fence lease and its margin where the segment allows it."""
    extra = segment.self_fence_seconds + MARGIN_SECONDS if segment.fencing is Fencing.REQUIRED_OR_SELF_FENCE else 0
    return ctx.settings.ceilings.fencing_seconds + extra


def _wait(message: StepMessage, ctx: StepContext, reason: str, ceiling: float) -> Retry | Fail:
    if records.too_late(ctx, message, None, ceiling):
        return Fail(f"fence not confirmed within {ceiling:g} s, nothing is evacuated: {reason}")
    return Retry(reason, recheck_delay(ctx, message))


def _last_error(detail: NotificationDetail, step_id: str) -> str:
    """Why the previous run of this step did not confirm fencing, as the journal recorded it."""
    errors = [step.error for step in detail.steps if step.key.step_id == step_id and step.error]
    return errors[-1] if errors else "no run confirmed the host powered off"
