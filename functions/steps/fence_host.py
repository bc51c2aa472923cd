"""COMPUTE_HOST: power the failed host off through its BMC and prove it, before anything is moved off it.

Evacuating a host that may still be running would let two copies of a server write to the same disk, so a
segment with ``vmha:fencing: required`` is only recovered once the host's BMC reports it powered off:

- already off: Done (nothing is sent to the BMC, so a second run, on another replica, changes nothing);
- on: power off at once, read the state back; still on: Retry after the recheck interval;
- BMC unreachable: Retry until ``ceilings.fencing_seconds`` after the notification arrived, then Fail (a run
  retried after that fails at once, so runs cut off at the step's timeout cannot go on forever);
- no fencing file, no BMC for the host, unreadable file, or credentials refused: Fail at once.

A Fail ends the notification failed: nothing is evacuated. A segment with ``vmha:fencing: disabled`` (an
explicit opt-out) is Skipped, and the reason is recorded in the journal. BMC addresses and credentials come
from ``settings.fencing_file`` (``vmha.fencing``); no reason or result ever carries a password.
"""

from __future__ import annotations

from collections.abc import Callable

from vmha.context import StepContext
from vmha.contracts import ContractError, StepMessage
from vmha.fencing import BmcAccess, BmcAuthError, BmcError, PowerDriver, PowerState, load_fencing_config, power_driver
from vmha.functions import records
from vmha.functions.nova import at_boundary, recheck_delay
from vmha.functions.segments import Fencing, segment_named
from vmha.journal import NotificationDetail
from vmha.outcomes import Done, Fail, Outcome, Retry, Skipped

Connect = Callable[[BmcAccess], PowerDriver]


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done once the host's BMC reports it off; Skipped where the segment opts out of fencing."""
    return fence(message, ctx, power_driver)


def fence(message: StepMessage, ctx: StepContext, connect: Connect) -> Outcome:
    """``run`` with the power driver factory given (tests pass a fake)."""
    host = ctx.notification.hostname
    detail = records.recovery(ctx, message)
    name, _method = records.segment_and_method(detail)
    if name is None or segment_named(ctx.cloud, name).fencing is not Fencing.REQUIRED:
        where = f"segment {name} opts out of fencing" if name else f"host {host} is in no segment"
        return Skipped(f"{where} (vmha:fencing disabled): the host was not fenced",
                       {"host": host, "fencing": Fencing.DISABLED.value})
    access = bmc_of(host, ctx.settings.fencing_file)
    if isinstance(access, Fail):
        return access
    if message.attempt > 1 and records.too_late(ctx, message, None, ctx.settings.ceilings.fencing_seconds):
        return _wait(message, ctx, f"last attempt: {_last_error(detail, message.step)}")
    try:
        done = _power_off(connect(access), access)
    except BmcAuthError as error:
        return Fail(f"cannot fence {host}, its BMC refused the credentials: {error}")
    except BmcError as error:
        return _wait(message, ctx, f"cannot reach the BMC of {host}: {error}")
    return done or _wait(message, ctx, f"the BMC of {host} still reports it powered on")


def bmc_of(host: str, fencing_file: str) -> BmcAccess | Fail:
    """How to reach the host's BMC, or a Fail saying why it cannot be known."""
    if not fencing_file:
        return Fail(f"cannot fence {host}: no fencing file is configured (settings fencing_file)")
    try:
        hosts = load_fencing_config(fencing_file)
    except ContractError as error:
        return Fail(f"cannot fence {host}: the fencing file {fencing_file} is invalid: {error}")
    except OSError as error:
        return Fail(f"cannot fence {host}: cannot read the fencing file {fencing_file}: {error.strerror}")
    if host not in hosts:
        return Fail(f"cannot fence {host}: the fencing file {fencing_file} has no BMC for it")
    return hosts[host]


def _power_off(driver: PowerDriver, access: BmcAccess) -> Done | None:
    """Done when the host is off (powering it off if it was on), None while the BMC still reports it on."""
    result = {"host": access.host, "bmc": f"{access.protocol.value} {access.address}", "power": "off"}
    if driver.power_state() is PowerState.OFF:
        return Done({**result, "powered_off": False})
    driver.power_off()
    if driver.power_state() is PowerState.OFF:
        return Done({**result, "powered_off": True})
    return None


def _wait(message: StepMessage, ctx: StepContext, reason: str) -> Retry | Fail:
    ceiling = ctx.settings.ceilings.fencing_seconds
    if records.too_late(ctx, message, None, ceiling):
        return Fail(f"fencing not confirmed within {ceiling} s, nothing is evacuated: {reason}")
    return Retry(reason, recheck_delay(ctx, message))


def _last_error(detail: NotificationDetail, step_id: str) -> str:
    """Why the previous run of this step did not confirm fencing, as the journal recorded it."""
    errors = [step.error for step in detail.steps if step.key.step_id == step_id and step.error]
    return errors[-1] if errors else "no run confirmed the host powered off"
