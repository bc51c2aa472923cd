"""What the runtime needs from the step table and the intake, as Protocols.

The runtime never imports ``vmha.functions``: the ``vmha gateway`` command wires the real table in, tests
pass small tables of test steps. A flow is a tuple of step ids; a run of consecutive ``per_instance`` steps
in it is a branch, entered once per instance the step before it fanned out (``Done.fan_out``); the first
step after the branch (or the end of the flow) joins them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from vmha.context import StepContext
from vmha.contracts import Notification, RetryPolicy, StepMessage
from vmha.journal import NotificationRecord
from vmha.outcomes import IntakeOutcome, Outcome

StepFunction = Callable[[StepMessage, StepContext], Outcome]
IntakeFunction = Callable[[Notification, StepContext], IntakeOutcome]
"""Intake: Recover(flow), Ignore or Fail; Retry or an exception retries it."""
FailedHook = Callable[[NotificationRecord, StepContext], None]
"""Run once when a notification ends failed (by the call that failed it): undo what must not outlive it."""


class Step(Protocol):
    """One entry of the step table as the runtime reads it (a frozen dataclass with these fields fits)."""

    @property
    def id(self) -> str: ...

    @property
    def run(self) -> StepFunction: ...

    @property
    def per_instance(self) -> bool:
        """Runs once per fanned-out instance; its messages carry ``instance_uuid``."""
        ...

    @property
    def timeout_seconds(self) -> float:
        """A run still going after this long counts as a failed attempt (and is retried)."""
        ...

    @property
    def retry(self) -> RetryPolicy | None:
        """Overrides ``settings.retry`` for this step (e.g. a confirm step re-checking every few seconds)."""
        ...


StepTable = Mapping[str, Step]


def table_problems(table: StepTable, claim_ttl_seconds: int) -> list[str]:
    """What is wrong with ``table`` for a gateway claiming messages for ``claim_ttl_seconds``."""
    problems = [f"{key!r} maps to a step with id {step.id!r}" for key, step in table.items() if key != step.id]
    for step in table.values():
        if not 0 < step.timeout_seconds < claim_ttl_seconds:
            problems.append(
                f"{step.id}: timeout {step.timeout_seconds} s must be positive and below the claim TTL "
                f"({claim_ttl_seconds} s), or another replica would run the step while it still runs here"
            )
    return problems


def flow_problems(flow: Sequence[str], table: StepTable) -> list[str]:
    """What makes ``flow`` impossible to run with ``table``: unknown steps, a branch nothing fans out to."""
    unknown = [step for step in flow if step not in table]
    if unknown:
        return [f"unknown steps {', '.join(unknown)}"]
    if flow and table[flow[0]].per_instance:
        return [f"the flow starts with the per-instance step {flow[0]}: nothing fans out to it"]
    return []


def branch_start(flow: Sequence[str], position: int, table: StepTable) -> int:
    """Position of the first step of the branch holding ``position`` (a per-instance step)."""
    start = position
    while start > 0 and table[flow[start - 1]].per_instance:
        start -= 1
    return start


def branch_end(flow: Sequence[str], position: int, table: StepTable) -> int:
    """Position of the first step at or after ``position`` that is not per-instance (len(flow): none)."""
    end = position
    while end < len(flow) and table[flow[end]].per_instance:
        end += 1
    return end
