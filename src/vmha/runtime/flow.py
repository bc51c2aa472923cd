"""Outcome -> actions: what the runtime does after a step, as values (pure; the runner carries them out).

Outside a branch, Done posts the next step, or one message per fanned-out instance when the next steps are
per-instance (no instance: straight to the step after them). Inside a branch, Done or Skipped posts the
branch's next step for the same instance, and the branch's last step ends the branch (``EndBranch``).
Once every branch has ended, the step after them (the join) runs once and judges the per-instance
results; a flow ending with its branches is finished, or failed if an instance failed. Retry re-posts the
message with attempt + 1 after a delay. Fail, or retries used up, dead-letters the message and fails the
notification; inside a branch it fails only that instance (recorded ``failed``), so the other instances
are still recovered and the join still runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from vmha.contracts import RetryPolicy, StepMessage
from vmha.journal import JoinState, NotificationStatus
from vmha.runtime.backoff import OUTAGE_PAUSE, hop, retry_delay
from vmha.runtime.table import StepTable, branch_end, branch_start

FAN_OUT_KEY = "fan_out"
"""Key of the instance uuids the runtime adds to the recorded result of a step that fanned out."""


@dataclass(frozen=True)
class Post:
    """Post ``message`` to the steps queue, to run ``delay`` seconds from now (or, ``until_branch_ends``, as
    soon as another branch of its notification ends, if that comes first; ``announced``, as soon as Nova
    announces a change of its server, see ``vmha.outcomes.Retry``)."""

    message: StepMessage
    delay: float = 0.0
    until_branch_ends: bool = False
    announced: bool = False


@dataclass(frozen=True)
class DeadLetter:
    """Copy the message being handled to the dead-letter queue with ``reason``."""

    reason: str


@dataclass(frozen=True)
class SetStatus:
    """Move the notification to ``status``."""

    status: NotificationStatus
    reason: str | None = None


@dataclass(frozen=True)
class EndBranch:
    """The branch of ``message`` (a per-instance step) ended; with ``reason``: its instance failed."""

    message: StepMessage
    reason: str | None = None


Action = Post | DeadLetter | SetStatus | EndBranch


@dataclass(frozen=True)
class Frame:
    """What decisions need besides the message: the step table, the time, the notification's deadline."""

    table: StepTable
    now: datetime
    ceiling: datetime
    """The notification's deadline (its ceiling from the settings), the deadline of each of its steps."""

    def at(self, message: StepMessage, position: int, instance: UUID | None) -> StepMessage:
        """The first attempt of the step at ``position`` of ``message``'s flow."""
        return StepMessage(
            notification_id=message.notification_id,
            step=message.flow[position],
            attempt=1,
            flow=message.flow,
            position=position,
            deadline=self.ceiling,
            instance_uuid=instance,
        )

    def per_instance(self, message: StepMessage, position: int) -> bool:
        return position < len(message.flow) and self.table[message.flow[position]].per_instance


def advance(message: StepMessage, frame: Frame, fan_out: Sequence[UUID]) -> list[Action]:
    """After ``message``'s step is done (or skipped). A step inside a branch cannot fan out again."""
    following = message.position + 1
    if message.instance_uuid is None:
        return enter(message, following, frame, fan_out)
    if frame.per_instance(message, following):
        return [Post(frame.at(message, following, message.instance_uuid))]
    return [EndBranch(message)]


def enter(message: StepMessage, position: int, frame: Frame, fan_out: Sequence[UUID] = ()) -> list[Action]:
    """Start what comes at ``position`` of the flow, outside any branch."""
    if position >= len(message.flow):
        return [SetStatus(NotificationStatus.FINISHED)]
    if not frame.per_instance(message, position):
        return [Post(frame.at(message, position, None))]
    if fan_out:
        return [Post(frame.at(message, position, instance)) for instance in fan_out]
    return enter(message, branch_end(message.flow, position, frame.table), frame)


def fail(message: StepMessage, reason: str) -> list[Action]:
    """Give up ``message``'s step: dead-letter it, and fail its instance or else the notification."""
    if message.instance_uuid is None:
        return [DeadLetter(reason), SetStatus(NotificationStatus.FAILED, reason)]
    return [DeadLetter(reason), EndBranch(message, reason)]


def retry(message: StepMessage, policy: RetryPolicy, requested: float, reason: str, now: datetime, *,
          until_branch_ends: bool = False, outage: bool = False, announced: bool = False) -> list[Action]:
    """Run ``message``'s step again later, unless its attempts are used up or its deadline would pass; an
    ``outage`` (a dependency down) does not use an attempt up and is tried again every ``OUTAGE_PAUSE``."""
    if not outage and message.attempt >= policy.max_attempts:
        return fail(message, f"gave up after {message.attempt} attempts: {reason}")
    wait = max(requested, OUTAGE_PAUSE) if outage else retry_delay(policy, message.attempt, requested)
    if (message.deadline - now).total_seconds() < wait:
        return fail(message, f"{reason} (a retry in {wait:.0f} s would pass the step's deadline)")
    delay, not_before = hop(now, wait)
    attempt = message.attempt if outage else message.attempt + 1
    return [Post(replace(message, attempt=attempt, not_before=not_before), delay, until_branch_ends, announced)]


def joined(message: StepMessage, frame: Frame, state: JoinState) -> list[Action]:
    """After a branch of ``message`` ended: nothing while others run, then the join step (or the end);
    ``state`` read with ``join_steps``."""
    flow = message.flow
    end = branch_end(flow, message.position, frame.table)
    branches = {str(instance) for instance in (state.fan_out_result or {}).get(FAN_OUT_KEY, ())}
    if not branches <= state.done | state.failed:
        return []
    if end < len(flow):
        return [Post(frame.at(message, end, None))]
    lost = branches & state.failed
    if lost:
        return [SetStatus(NotificationStatus.FAILED, f"{len(lost)} of {len(branches)} instances failed")]
    return [SetStatus(NotificationStatus.FINISHED)]


def join_steps(message: StepMessage, table: StepTable) -> tuple[str, str]:
    """The step that fanned out the branch of ``message`` and the branch's last step (what ``joined`` reads)."""
    flow = message.flow
    return flow[branch_start(flow, message.position, table) - 1], flow[branch_end(flow, message.position, table) - 1]
