"""The notification runner: a claimed notification in, intake run, the notification journalled, its flow
started.

Intake runs first because it admits and records the notification itself, with the segment and recovery method
it resolved (``vmha.functions.intake`` through ``vmha.admission``, the rules the API applies too), and answers a
typed ``IntakeOutcome``: ``Recover(flow)``, ``Ignore`` or ``Fail``. The runtime then records it too, which finds
it and writes nothing when intake did, and journals the notification when intake could not (an intake without a
journal, or one that failed before recording). The runtime acts on intake's outcome only while the notification
is still ``new``:
a duplicate is stored ``ignored`` by the journal, and a notification already running or ended keeps its
status, so a redelivered notification never starts a second recovery. The first step is posted before
the status moves to ``running``: a crash between the two leaves it ``new``, and the redelivered message
posts the step again (the journal makes that second copy a no-op).
A failing intake is retried by keeping its message claimed for the backoff delay (at least Zaqar's 60 s
minimum claim TTL): the notifications queue is written by monitors, so its messages are never re-posted.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from uuid import UUID

from vmha.cloud.request_ids import carrying
from vmha.contracts import ContractError, Notification, StepMessage, parse_notification
from vmha.journal import NewNotification, NotificationRecord, NotificationStatus
from vmha.outcomes import Fail, Ignore, IntakeOutcome, Recover, Retry
from vmha.runtime import flow
from vmha.runtime.backoff import backoff
from vmha.runtime.context import RunContext, new_request_id
from vmha.runtime.effects import Effects, id_of
from vmha.runtime.execute import INTAKE_OUTCOMES, execute
from vmha.runtime.queues import Claimed
from vmha.runtime.services import Services
from vmha.runtime.table import flow_problems

log = logging.getLogger(__name__)

INTAKE = "intake"
"""The step id of intake in progress events and logs."""


class NotificationRunner:
    """Handles messages of the notifications queue."""

    def __init__(self, services: Services, effects: Effects) -> None:
        self._services = services
        self._effects = effects

    def handle(self, claimed: Claimed) -> None:
        """Process one claimed notification; delete it unless intake is to run again later."""
        services = self._services
        try:
            notification = parse_notification(claimed.body)
        except ContractError as error:
            self._effects.reject(claimed, f"invalid notification: {error}", id_of(claimed.body, "id"))
            services.queues.delete(claimed)
            return
        outcome = self._intake(notification)
        if isinstance(outcome, Retry) and not self._past_ceiling(notification):
            wait = math.ceil(max(outcome.delay, backoff(services.settings.retry, 1)))
            log.warning("intake will run again", extra={"notification_id": str(notification.id),
                                                        "reason": outcome.reason, "delay": wait})
            services.queues.postpone(claimed, wait, services.settings.gateway.claim_grace_seconds)
            return
        record = self._record(notification)
        if record.status is NotificationStatus.NEW:
            services.journal.add_progress_event(record.id, INTAKE, _describe(outcome), 1.0)
            self._effects.apply(claimed, record.id, self._actions(record, outcome))
        services.queues.delete(claimed)

    def _intake(self, notification: Notification) -> IntakeOutcome:
        services = self._services
        context = RunContext(new_request_id(), notification, services.settings, services.journal, services.cloud,
                             services.clock, services.clock() + services.ceiling)
        labels = {"notification_id": str(notification.id), "step": INTAKE, "request_id": context.request_id}
        with carrying(context.request_id):
            outcome = execute(lambda: services.intake(notification, context), services.intake_timeout_seconds,
                              INTAKE, labels, INTAKE_OUTCOMES)
        log.info("intake ran", extra={**labels, "outcome": type(outcome).__name__})
        return outcome

    def _past_ceiling(self, notification: Notification) -> bool:
        return self._services.clock() >= notification.generated_time + self._services.ceiling

    def _record(self, notification: Notification) -> NotificationRecord:
        services = self._services
        return services.journal.record_notification(
            NewNotification.of(notification),
            dedup_window=timedelta(seconds=services.settings.dedup_window_seconds),
            terminal_within=services.ceiling,
        ).notification

    def _actions(self, record: NotificationRecord, outcome: IntakeOutcome) -> list[flow.Action]:
        match outcome:
            case Recover(flow=steps):
                problems = "; ".join(flow_problems(steps, self._services.table))
                if problems:
                    return _failed(f"intake returned an unusable flow: {problems}")
                return self._start(record, tuple(steps))
            case Fail(reason=reason) | Retry(reason=reason):
                return _failed(reason)
            case Ignore(reason=reason):
                return [flow.SetStatus(NotificationStatus.IGNORED, reason)]

    def _start(self, record: NotificationRecord, steps: tuple[str, ...]) -> list[flow.Action]:
        """Record the flow (the only one its steps may run in), post its first step, then set the
        notification running (an empty flow: finished)."""
        if not steps:
            return [flow.SetStatus(NotificationStatus.FINISHED, "intake found nothing to recover")]
        services = self._services
        services.journal.set_flow(record.id, steps)
        frame = flow.Frame(services.table, services.clock(), record.deadline)
        placeholder = StepMessage(UUID(record.id), steps[0], 1, steps, 0, record.deadline)
        return [flow.Post(frame.at(placeholder, 0, None)), flow.SetStatus(NotificationStatus.RUNNING)]


def _failed(reason: str) -> list[flow.Action]:
    return [flow.DeadLetter(reason), flow.SetStatus(NotificationStatus.FAILED, reason)]


def _describe(outcome: IntakeOutcome) -> str:
    if isinstance(outcome, Recover):
        return f"flow {', '.join(outcome.flow)}"
    return f"{type(outcome).__name__.lower()}: {outcome.reason}"
