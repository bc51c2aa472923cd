"""What a recovery step returns: outcomes as values, never exceptions for control flow.

A step does ONE thing and reports how it went; only the runtime loops, waits and moves the flow on:

- ``Done``: the step's effect holds (it may have been true already: steps converge, they don't command).
  ``fan_out`` lists instance uuids when the next step of the flow runs once per instance.
- ``Skipped``: nothing to do, with the reason recorded (e.g. instance not HA-enabled); the flow goes on.
- ``Retry``: not yet (service still up, evacuation in progress, Nova 5xx/409); run me again after ``delay``
  seconds. The runtime re-posts the step message with a Zaqar delay; it never sleeps. ``outage``: a
  dependency could not be reached or failed (connection refused, timed out, 5xx): the attempt does not
  count, the step is tried again every few seconds until the notification's deadline.
- ``Fail``: cannot succeed (fencing unconfirmed, mass failure guard, bad input); the notification ends
  ``failed`` with ``reason`` and the message goes to the dead-letter queue.
- ``Ignore``: (intake only) the notification is not actionable; it ends ``ignored`` with ``reason``.
- ``Recover``: (intake only) the notification starts a recovery running ``flow`` (step ids, in order); an empty
  flow has nothing to recover, and the notification finishes. An intake answers ``IntakeOutcome``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

JsonObject = Mapping[str, Any]


@dataclass(frozen=True)
class Done:
    result: JsonObject = field(default_factory=dict)
    fan_out: tuple[UUID, ...] = ()


@dataclass(frozen=True)
class Skipped:
    reason: str
    result: JsonObject = field(default_factory=dict)


@dataclass(frozen=True)
class Retry:
    reason: str
    delay: float
    until_branch_ends: bool = False
    """The wait is for capacity another branch of the same fan-out frees as it ends (an evacuation slot): the
    runtime may run the step again as soon as one ends, and ``delay`` is only the longest wait."""
    outage: bool = False
    """A dependency was unreachable or failing: not the step's own failure, so the attempt does not count."""
    announced: bool = False
    """The wait is for a change of the message's server that Nova announces in its versioned notifications: the
    runtime may run the step again as soon as it hears one, and wait longer while it hears of the server
    (``vmha.nova_news``); ``delay`` is the wait when it does not."""


@dataclass(frozen=True)
class Fail:
    reason: str


@dataclass(frozen=True)
class Ignore:
    reason: str


@dataclass(frozen=True)
class Recover:
    flow: tuple[str, ...]
    segment: str | None = None
    recovery_method: str | None = None


Outcome = Done | Skipped | Retry | Fail | Ignore
IntakeOutcome = Recover | Ignore | Fail | Retry


def outcome_to_dict(outcome: Outcome | Recover) -> dict[str, Any]:
    """The outcome as a JSON-ready dict (what a Lambda-style handler returns; ``vmha.functions.handler``)."""
    if isinstance(outcome, Recover):
        return {"outcome": "recover", "flow": list(outcome.flow), "segment": outcome.segment,
                "recovery_method": outcome.recovery_method}
    if isinstance(outcome, Done):
        return {"outcome": "done", "result": dict(outcome.result), "fan_out": [str(u) for u in outcome.fan_out]}
    if isinstance(outcome, Skipped):
        return {"outcome": "skipped", "reason": outcome.reason, "result": dict(outcome.result)}
    if isinstance(outcome, Retry):
        return {"outcome": "retry", "reason": outcome.reason, "delay": outcome.delay}
    return {"outcome": "fail" if isinstance(outcome, Fail) else "ignore", "reason": outcome.reason}
