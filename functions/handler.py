"""The one adapter from Lambda/Qinling-style ``handler(event: dict, context) -> dict`` to the steps.

``step_handler(step_id)`` and ``intake_handler`` parse the event with ``vmha.contracts`` (a step message,
or a notification), run the step with the context (a ``vmha.context.StepContext``) and return the
outcome as a dict: ``{"outcome": "done", "result": {...}, "fan_out": [uuids]}``, ``{"outcome":
"skipped", "reason": ..., "result": {...}}``, ``{"outcome": "retry", "reason": ..., "delay": seconds}``,
``{"outcome": "fail" | "ignore", "reason": ...}``. An event that does not match its contract is answered
``fail`` with the contract error: nothing raises for bad input, nothing is lost.
``outcome_from_dict`` reads such a dict back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from vmha.context import StepContext
from vmha.contracts import ContractError, parse_notification, parse_step_message
from vmha.functions import triage
from vmha.functions.registry import STEPS
from vmha.outcomes import Done, Fail, Ignore, Outcome, Recover, Retry, Skipped, outcome_to_dict

Handler = Callable[[Mapping[str, Any], StepContext], dict[str, Any]]
__all__ = ["Handler", "intake_handler", "outcome_from_dict", "outcome_to_dict", "step_handler"]


def outcome_from_dict(data: Mapping[str, Any]) -> Outcome | Recover:
    """The outcome a handler returned; ContractError for anything else."""
    kind = data.get("outcome")
    try:
        if kind == "recover":
            return Recover(tuple(str(step) for step in data["flow"]), data.get("segment"), data.get("recovery_method"))
        if kind == "done":
            return Done(dict(data.get("result", {})), tuple(UUID(u) for u in data.get("fan_out", ())))
        if kind == "skipped":
            return Skipped(str(data["reason"]), dict(data.get("result", {})))
        if kind == "retry":
            return Retry(str(data["reason"]), float(data["delay"]))
        if kind in ("fail", "ignore"):
            return (Fail if kind == "fail" else Ignore)(str(data["reason"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ContractError(f"malformed {kind} outcome: {error}") from error
    raise ContractError(f"unknown outcome {kind!r}", "outcome")


def step_handler(step_id: str) -> Handler:
    """The handler of step ``step_id`` (KeyError if the step table has none)."""
    spec = STEPS[step_id]

    def handler(event: Mapping[str, Any], context: StepContext) -> dict[str, Any]:
        try:
            message = parse_step_message(event)
        except ContractError as error:
            return outcome_to_dict(Fail(f"invalid step message: {error}"))
        if message.step != step_id:
            return outcome_to_dict(Fail(f"message for step {message.step} sent to {step_id}"))
        return outcome_to_dict(spec.run(message, context))

    handler.__name__ = f"{step_id}_handler"
    return handler


def intake_handler(event: Mapping[str, Any], context: StepContext) -> dict[str, Any]:
    """The handler of intake: the event is a notification."""
    try:
        notification = parse_notification(event)
    except ContractError as error:
        return outcome_to_dict(Fail(f"invalid notification: {error}"))
    return outcome_to_dict(triage.run(notification, context))
