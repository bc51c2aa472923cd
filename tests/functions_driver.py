"""A minimal, sequential stand-in for the runtime, to drive recovery flows in tests.

It follows the runtime contract of ``vmha.functions.registry`` (intake, then each step in flow order,
per-instance branches after a fan-out, the join once, Retry re-runs after ``wait(delay)``), recording
step runs and statuses in the journal as the runtime does. The real runtime posts each step to Zaqar;
this one calls the steps directly, one after another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from vmha.context import RunContext, new_request_id
from vmha.contracts import Notification, Settings, StepMessage
from vmha.functions import intake
from vmha.functions.records import INTAKE
from vmha.functions.registry import STEPS, StepSpec
from vmha.journal import (
    Journal,
    NewNotification,
    NotificationStatus,
    StepClaim,
    StepDone,
    StepKey,
)
from vmha.outcomes import Done, Fail, Ignore, IntakeOutcome, Outcome, Recover, Retry, Skipped, outcome_to_dict


@dataclass
class FlowRun:
    """What happened to one notification."""

    intake: IntakeOutcome
    status: NotificationStatus | None = None
    outcomes: list[tuple[str, str, Outcome]] = field(default_factory=list)

    def of(self, step: str, instance: str = "") -> Outcome:
        """The last outcome of a step (for one instance)."""
        return [o for s, i, o in self.outcomes if (s, i) == (step, instance)][-1]


class Driver:
    """Runs notifications through intake and their flows against ``cloud`` with ``journal``.

    ``steps`` replaces the step table, e.g. to give a step a fake seam (a fake BMC for fence_host).
    """

    def __init__(self, cloud: Any, journal: Journal, settings: Settings, now: Callable[[], datetime], *,
                 wait: Callable[[float], None], max_runs: int = 200, steps: Mapping[str, StepSpec] = STEPS) -> None:
        self.cloud, self.journal, self.settings, self.now, self.wait = cloud, journal, settings, now, wait
        self.max_runs, self.steps = max_runs, steps

    def context(self, notification: Notification) -> RunContext:
        return RunContext(new_request_id(), notification, self.settings, self.journal, self.cloud, self.now,
                          self.now() + timedelta(seconds=60))

    def run(self, notification: Notification) -> FlowRun:
        """Intake, then the whole flow; the notification's final status is set as the runtime would.

        As the runtime does, the notification is recorded before intake runs (without its segment), and
        the intake run is journalled as the step ``intake``.
        """
        self.journal.record_notification(NewNotification.of(notification), dedup_window=timedelta(0),
                                         terminal_within=timedelta(seconds=self.settings.ceilings.notification_seconds))
        claim = self.journal.begin_step(StepKey(str(notification.id), INTAKE), timedelta(seconds=60))
        assert isinstance(claim, StepClaim)
        first = intake(notification, self.context(notification))
        if isinstance(first, Recover):
            self.journal.finish_step(claim, outcome_to_dict(first))
            self.journal.set_flow(str(notification.id), first.flow)
        else:
            self.journal.skip_step(claim, {"reason": getattr(first, "reason", "")})
        record = FlowRun(first)
        if isinstance(first, Ignore):
            record.status = self._set(notification, NotificationStatus.IGNORED, first.reason)
        elif isinstance(first, Fail):
            record.status = self._set(notification, NotificationStatus.FAILED, first.reason)
        elif isinstance(first, Recover):
            self._set(notification, NotificationStatus.RUNNING, None)
            failure = self._flow(notification, first.flow, record)
            final = NotificationStatus.FAILED if failure else NotificationStatus.FINISHED
            record.status = self._set(notification, final, failure)
        return record

    def _set(self, notification: Notification, status: NotificationStatus, reason: str | None) -> NotificationStatus:
        return self.journal.set_status(str(notification.id), status, reason).status

    def _flow(self, notification: Notification, flow: tuple[str, ...], record: FlowRun) -> str | None:
        position = 0
        while position < len(flow):
            outcome = self.step(notification, flow, position, None, record)
            if isinstance(outcome, Fail):
                return outcome.reason
            position += 1
            if position < len(flow) and self.steps[flow[position]].per_instance:
                instances = outcome.fan_out if isinstance(outcome, Done) else ()
                failure, position = self._fan_out(notification, flow, position, instances, record)
                if failure:
                    return failure
        return None

    def _fan_out(self, notification: Notification, flow: tuple[str, ...], position: int,
                 instances: tuple[UUID, ...], record: FlowRun) -> tuple[str | None, int]:
        branch_end = position
        while branch_end < len(flow) and self.steps[flow[branch_end]].per_instance:
            branch_end += 1
        for instance in instances:
            for index in range(position, branch_end):
                outcome = self.step(notification, flow, index, instance, record)
                if not isinstance(outcome, Done):
                    break
        return None, branch_end

    def step(self, notification: Notification, flow: tuple[str, ...], position: int, instance: UUID | None,
             record: FlowRun | None = None) -> Outcome:
        """Run one step until it stops asking for a retry (waiting ``delay`` in between)."""
        spec = self.steps[flow[position]]
        key = StepKey(str(notification.id), spec.id, "" if instance is None else str(instance))
        detail = self.journal.get_notification(str(notification.id))
        assert detail is not None
        deadline = detail.notification.deadline
        for attempt in range(1, self.max_runs + 1):
            message = StepMessage(notification.id, spec.id, attempt, flow, position, deadline, instance)
            outcome = self._once(key, message, notification)
            if not isinstance(outcome, Retry):
                break
            self.wait(outcome.delay)
        else:
            raise AssertionError(f"{spec.id} still asks for a retry after {self.max_runs} runs: {outcome}")
        if record is not None:
            record.outcomes.append((spec.id, key.instance_uuid, outcome))
        return outcome

    def _once(self, key: StepKey, message: StepMessage, notification: Notification) -> Outcome:
        start = self.journal.begin_step(key, timedelta(seconds=self.steps[key.step_id].timeout_seconds))
        if isinstance(start, StepDone):
            return Done(start.record.result or {})
        assert isinstance(start, StepClaim)
        outcome = self.steps[key.step_id].run(message, self.context(notification))
        if isinstance(outcome, Done):
            self.journal.finish_step(start, outcome.result)
        elif isinstance(outcome, Skipped):
            self.journal.skip_step(start, {"reason": outcome.reason, **outcome.result})
        else:
            self.journal.fail_step(start, f"{type(outcome).__name__}: {getattr(outcome, 'reason', '')}")
        return outcome
