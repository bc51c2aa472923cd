"""Whether a host vmha recovered may go back into service now: a pure decision over what was read.

The order is the safety order: a host with a recovery under way waits; a host whose nova-compute has not
reported since its recovery ended, or whose BMC does not report the power on, is not back; a host back within
its segment's flap window of its last return stays out; a ``manual`` segment's host, or one whose recovery
did not finish, is held for an operator. An operator's return (``by_operator``) passes the last two checks,
never the first two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from vmha.cloud.segments import ReturnMode
from vmha.journal import NotificationStatus


class Verdict(StrEnum):
    """What to do with the host now."""

    WAIT = "wait"
    """Not back yet, or a recovery is under way: nothing recorded, looked at again later."""
    HOLD = "hold"
    """Back, but stays out of service: recorded once with the reason, until an operator returns it."""
    RETURN = "return"
    """Back: undo what the recovery did."""


@dataclass(frozen=True)
class Facts:
    """What was read about a host that a recovery took out of service."""

    host: str
    notification_id: str
    recovery_status: NotificationStatus
    recovery_under_way: str | None
    """The id of a recovery of the host that is still new or running, None if none."""
    reported_since_recovery: bool
    """Its nova-compute's service record was written after the recovery ended."""
    powered_on: bool
    power: str
    """What its BMC said (or why it said nothing), for the reason."""
    mode: ReturnMode
    flap_window_seconds: int
    last_return: datetime | None
    """When the host was last returned to service before this failure, None if never."""
    failed_at: datetime
    """When this failure was detected (the recovery's notification)."""


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def decide(facts: Facts, *, by_operator: bool = False) -> Decision:
    """The verdict on ``facts``, with the reason an operator reads."""
    waiting = _not_back(facts)
    if waiting is not None:
        return Decision(Verdict.WAIT, waiting)
    if by_operator:
        return Decision(Verdict.RETURN, f"{facts.host} returned to service by an operator")
    held = _flapped(facts) or _held(facts)
    if held is not None:
        return Decision(Verdict.HOLD, held)
    return Decision(Verdict.RETURN, f"{facts.host} is back (BMC: {facts.power}): returned to service automatically")


def _not_back(facts: Facts) -> str | None:
    host = facts.host
    if facts.recovery_under_way is not None:
        return f"a recovery of {host} is under way (notification {facts.recovery_under_way})"
    if not facts.reported_since_recovery:
        return f"the nova-compute of {host} has not reported since its recovery ended"
    if not facts.powered_on:
        return f"the BMC of {host} does not report the power on: {facts.power}"
    return None


def _held(facts: Facts) -> str | None:
    if facts.recovery_status is not NotificationStatus.FINISHED:
        return f"{facts.host} is back but its recovery ended {facts.recovery_status.value}: an operator returns it"
    if facts.mode is ReturnMode.MANUAL:
        return (f"{facts.host} is back (BMC: {facts.power}); the segment's return_to_service is manual: an "
                "operator returns it")
    return None


def _flapped(facts: Facts) -> str | None:
    if facts.last_return is None:
        return None
    after = facts.failed_at - facts.last_return
    if not timedelta(0) <= after <= timedelta(seconds=facts.flap_window_seconds):
        return None
    return (f"{facts.host} flaps: it failed again {after.total_seconds():.0f} s after it was returned to service "
            f"(flap window {facts.flap_window_seconds} s): it stays out until an operator returns it")
