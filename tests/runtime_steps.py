"""A small step table and intake for the runtime's tests: steps that succeed, fan out, retry (quickly, or
with too long a timeout to wait under their claim), wait for another branch to end, fail, raise, and take
their time, each counting its side effects as lines in a file (shared by gateway processes).

The intake reads the flow from a PROCESS notification's process name, ``flow:step,step,...``;
``ignore:reason`` and ``fail:reason`` give those outcomes. ``STEPS`` and ``intake`` count into the file
named by VMHA_TEST_EFFECTS, for ``vmha gateway --steps tests.runtime_steps:STEPS``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vmha.context import StepContext
from vmha.contracts import Notification, ProcessPayload, RetryPolicy, StepMessage
from vmha.outcomes import Done, Fail, Ignore, IntakeOutcome, Outcome, Recover, Retry
from vmha.runtime import StepFunction, StepTable

FANNED_OUT = 3
SLOW_SECONDS = 4.0
PATIENT_TIMEOUT = 49.0
"""The ``patient`` step's timeout: its 2 s retry + the timeout + the lease margin (10 s) outlast a 60 s claim."""
GATE_WAIT = 40.0
"""How long a branch waits at the ``gate`` at most: far longer than the test's wait for the whole flow."""
QUICK_RETRY = RetryPolicy(max_attempts=4, initial_delay_seconds=1, max_delay_seconds=2, multiplier=2.0,
                          recheck_interval_seconds=1)


@dataclass(frozen=True)
class TestStep:
    """A step table entry (the shape of vmha.functions' StepSpec)."""

    id: str
    run: StepFunction
    per_instance: bool = False
    timeout_seconds: float = 10.0
    retry: RetryPolicy | None = None


class Effects:
    """Side effects as lines ``step instance pid`` appended to a file (atomic for short lines)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, step: str, message: StepMessage) -> None:
        with self.path.open("a") as file:
            file.write(f"{step} {message.instance_uuid or '-'} {os.getpid()}\n")

    def lines(self) -> list[tuple[str, str, str]]:
        if not self.path.exists():
            return []
        rows = (line.split() for line in self.path.read_text().splitlines())
        return [(step, instance, pid) for step, instance, pid in rows]

    def counts(self) -> Counter[tuple[str, str]]:
        """How many times each (step, instance) had its effect."""
        return Counter((step, instance) for step, instance, _ in self.lines())


def instances(message: StepMessage) -> tuple[uuid.UUID, ...]:
    """The instances the ``fan`` step fans out to: fixed per notification."""
    return tuple(uuid.uuid5(message.notification_id, str(n)) for n in range(FANNED_OUT))


def gate(effects: Effects) -> StepFunction:
    """A step that lets one branch at a time past it (until its ``leave``); the others wait for a branch to end."""
    lock = threading.Lock()

    def run(message: StepMessage, ctx: StepContext) -> Outcome:
        with lock:
            lines = effects.lines()
            inside = {instance for step, instance, _ in lines if step == "gate"} - \
                {instance for step, instance, _ in lines if step == "leave"}
            if inside - {str(message.instance_uuid)}:
                return Retry(f"{len(inside)} branch past the gate", GATE_WAIT, until_branch_ends=True)
            effects.add("gate", message)
        return Done()
    return run


def make_table(effects: Effects) -> StepTable:
    """The test steps, counting into ``effects``."""

    def effect(name: str, outcome: Outcome | None = None) -> StepFunction:
        def run(message: StepMessage, ctx: StepContext) -> Outcome:
            effects.add(name, message)
            return outcome or Done({"step": name, "request_id": ctx.request_id})
        return run

    def fan(message: StepMessage, ctx: StepContext) -> Outcome:
        effects.add("fan", message)
        return Done({"planned": FANNED_OUT}, fan_out=instances(message))

    def flaky(name: str) -> StepFunction:
        def run(message: StepMessage, ctx: StepContext) -> Outcome:
            effects.add(name, message)
            return Retry("not yet", 2) if message.attempt <= 2 else Done()
        return run

    def boom(message: StepMessage, ctx: StepContext) -> Outcome:
        effects.add("boom", message)
        raise RuntimeError("the test step exploded")

    def slow(message: StepMessage, ctx: StepContext) -> Outcome:
        effects.add("slow-started", message)
        time.sleep(SLOW_SECONDS)
        effects.add("slow", message)
        return Done()

    def first_fails(message: StepMessage, ctx: StepContext) -> Outcome:
        effects.add("first_fails", message)
        return Fail("the first instance cannot be recovered") if message.instance_uuid == instances(message)[0] \
            else Done()

    steps = [
        TestStep("ok", effect("ok")), TestStep("ok2", effect("ok2")), TestStep("fan", fan),
        TestStep("each", effect("each"), per_instance=True), TestStep("each2", effect("each2"), per_instance=True),
        TestStep("first_fails", first_fails, per_instance=True), TestStep("join", effect("join")),
        TestStep("gate", gate(effects), per_instance=True), TestStep("leave", effect("leave"), per_instance=True),
        TestStep("flaky", flaky("flaky"), retry=QUICK_RETRY), TestStep("boom", boom, retry=QUICK_RETRY),
        TestStep("patient", flaky("patient"), timeout_seconds=PATIENT_TIMEOUT, retry=QUICK_RETRY),
        TestStep("fail", effect("fail", Fail("the test step failed"))),
        TestStep("slow", slow, timeout_seconds=20.0),
    ]
    return {step.id: step for step in steps}


def intake(notification: Notification, ctx: StepContext) -> IntakeOutcome:
    """The flow named in the process name (see the module docstring)."""
    payload = notification.payload
    if not isinstance(payload, ProcessPayload):
        return Ignore("not a test notification")
    kind, _, text = payload.process_name.partition(":")
    if kind == "flow":
        return Recover(tuple(text.split(",")))
    return Fail(text) if kind == "fail" else Ignore(text)


STEPS = make_table(Effects(Path(os.environ.get("VMHA_TEST_EFFECTS", os.devnull))))
