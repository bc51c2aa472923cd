"""The functions the API invokes: every step of the step table and intake, Lambda-style, one JSON event each.

A step's event is a step message (``step.schema.json``) for a notification the journal knows; intake's event
is a notification (``notification.schema.json``). The event is checked before anything is recorded, so a
malformed one is refused and nothing is journaled. Each execution is recorded in the journal with its input
and its output, then runs the function once, outside any flow: nothing is posted to the queues and no step
run is recorded (the queue consumers do that for recoveries). The output is the outcome as a dict
(``vmha.outcomes.outcome_to_dict``); an exception or a timeout is a function error, reported the way
Lambda reports one: ``{"errorMessage", "errorType", "stackTrace"}``. An asynchronous execution runs on this
process's pool; if the process dies first it stays ``running``.
"""

from __future__ import annotations

import contextvars
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from vmha.contracts import ContractError, parse_notification, parse_step_message
from vmha.journal import ExecutionRecord, ExecutionStatus
from vmha.outcomes import Done, Fail, Ignore, Outcome, Recover, Retry, Skipped, outcome_to_dict
from vmha.runtime import RunContext, Services
from vmha.runtime.context import new_request_id, notification_of
from vmha.templates import load_schema

INTAKE = "intake"
"""The name of the intake function (no step may be called so)."""

Observer = Callable[[str, ExecutionStatus, float], None]
"""Told each ended execution's function, status and duration in seconds (for metrics)."""

_OUTCOMES = (Done, Skipped, Retry, Fail, Ignore, Recover)


class UnknownFunctionError(LookupError):
    """No function of that name."""


class InvalidInputError(ValueError):
    """The event does not fit the function's contract; the message says why."""


@dataclass(frozen=True)
class Call:
    """A checked invocation, ready to run."""

    function: str
    event: Mapping[str, Any]
    body: Callable[[], Outcome | Recover]
    timeout: float


class Functions:
    """Prepares, runs and records executions; ``close`` stops the pool of asynchronous ones."""

    def __init__(self, services: Services, observe: Observer) -> None:
        self._services = services
        self._observe = observe
        self._pool = ThreadPoolExecutor(services.settings.gateway.workers, thread_name_prefix="vmha-execution")

    def catalogue(self) -> list[dict[str, Any]]:
        """Every function with its kind, timeout and input schema."""
        intake = {"name": INTAKE, "kind": "intake", "per_instance": False,
                  "timeout_seconds": self._services.intake_timeout_seconds, "input_schema": load_schema("notification")}
        steps = [{"name": step.id, "kind": "step", "per_instance": step.per_instance,
                  "timeout_seconds": step.timeout_seconds, "input_schema": load_schema("step")}
                 for step in self._services.table.values()]
        return [intake, *steps]

    def exists(self, name: str) -> bool:
        return name == INTAKE or name in self._services.table

    def prepare(self, name: str, event: Mapping[str, Any]) -> Call:
        """The invocation of ``name`` with ``event``; UnknownFunctionError, InvalidInputError."""
        if not self.exists(name):
            raise UnknownFunctionError(f"function {name} not found")
        try:
            return self._intake(event) if name == INTAKE else self._step(name, event)
        except ContractError as error:
            raise InvalidInputError(f"invalid input for {name}: {error}") from error

    def execute(self, call: Call, sync: bool) -> ExecutionRecord:
        """Record the execution and run it: to its end when ``sync``, else on the pool (the record says running)."""
        journal = self._services.journal
        record = journal.begin_execution(str(uuid.uuid4()), call.function, call.event, sync)
        if not sync:
            self._pool.submit(contextvars.copy_context().run, self._finish, record.id, call)
            return record
        return self._finish(record.id, call)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _finish(self, execution_id: str, call: Call) -> ExecutionRecord:
        started = time.monotonic()
        status, output = run(call)
        duration = time.monotonic() - started
        self._observe(call.function, status, duration)
        return self._services.journal.end_execution(execution_id, status, output, duration)

    def _step(self, name: str, event: Mapping[str, Any]) -> Call:
        services = self._services
        message = parse_step_message(event)
        if message.step != name:
            raise InvalidInputError(f"invalid input for {name}: the step message is for step {message.step}")
        detail = services.journal.get_notification(str(message.notification_id))
        if detail is None:
            raise InvalidInputError(f"invalid input for {name}: unknown notification {message.notification_id}")
        context = RunContext(new_request_id(), notification_of(detail.notification), services.settings,
                             services.journal, services.cloud, services.clock, message.deadline)
        step = services.table[name]
        return Call(name, dict(event), lambda: step.run(message, context), step.timeout_seconds)

    def _intake(self, event: Mapping[str, Any]) -> Call:
        services = self._services
        notification = parse_notification(event)
        context = RunContext(new_request_id(), notification, services.settings, services.journal, services.cloud,
                             services.clock, services.clock() + services.ceiling)
        return Call(INTAKE, dict(event), lambda: services.intake(notification, context),
                    services.intake_timeout_seconds)


def run(call: Call) -> tuple[ExecutionStatus, dict[str, Any]]:
    """Run ``call`` within its timeout: SUCCESS with the outcome, or FAILED with a Lambda-style error."""
    box: list[object] = []

    def capture() -> None:
        try:
            box.append(call.body())
        except Exception as error:  # the function's error is its caller's answer, not the gateway's failure
            box.append(error)

    thread = threading.Thread(target=contextvars.copy_context().run, args=(capture,),
                              name=f"vmha-function-{call.function}", daemon=True)
    thread.start()
    thread.join(call.timeout)
    if not box:
        timed_out = f"Task timed out after {call.timeout:.2f} seconds"
        return ExecutionStatus.FAILED, function_error("TimeoutError", timed_out)
    result = box[0]
    if isinstance(result, Exception):
        frames = result.__traceback__.tb_next if result.__traceback__ else None  # from the function on
        stack = [line.rstrip() for line in traceback.format_tb(frames)]
        return ExecutionStatus.FAILED, function_error(type(result).__name__, str(result), stack)
    if not isinstance(result, _OUTCOMES):
        return ExecutionStatus.FAILED, function_error("TypeError", f"returned {type(result).__name__}, not an outcome")
    return ExecutionStatus.SUCCESS, outcome_to_dict(result)


def function_error(kind: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    """A function error as Lambda's Python runtime reports it."""
    return {"errorMessage": message, "errorType": kind, "stackTrace": stack or []}
