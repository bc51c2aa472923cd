"""The step runner: one claimed step message in, its step run once in effect, the flow moved on.

Order for every message: check it, claim the step in the journal (write-ahead), run it, record the result,
carry out the follow-up actions, and only then delete the message. A crash anywhere before the delete makes
Zaqar hand the message to another consumer, which finds the journal record and repeats no side effect.

When the follow-up is one message (the next step of a chain, a retry, a recheck) that can run and end
before the claim does, it is not posted: the process keeps the claim and runs it itself (``Held``), at once
or after its delay timed to the millisecond. Nothing is lost: the message stays claimed in Zaqar until the
chain posts or ends, and if the process dies, the message comes back when its claim expires and the journal
leads its new consumer to the same next step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any
from uuid import UUID

from vmha.cloud.request_ids import carrying
from vmha.contracts import ContractError, StepMessage, parse_step_message
from vmha.journal import (
    TERMINAL,
    NotificationRecord,
    ProgressNote,
    StaleStepClaimError,
    StepBusy,
    StepClaim,
    StepDone,
    StepKey,
    StepStatus,
)
from vmha.outcomes import Done, Fail, Outcome, Retry, Skipped
from vmha.runtime import flow
from vmha.runtime.backoff import MAX_ZAQAR_DELAY, hop, remaining
from vmha.runtime.context import RunContext, new_request_id, notification_of
from vmha.runtime.effects import Effects, id_of
from vmha.runtime.execute import execute
from vmha.runtime.held import Held
from vmha.runtime.queues import Claimed
from vmha.runtime.services import LEASE_MARGIN, Services
from vmha.runtime.table import flow_problems

log = logging.getLogger(__name__)


class StepRunner:
    """Handles messages of the steps queue."""

    def __init__(self, services: Services, effects: Effects, owner: Callable[[], str | None] = lambda: None) -> None:
        """``owner``: the name of the replica running the steps (``vmha.runtime.replicas``), in their records."""
        self._services = services
        self._effects = effects
        self._owner = owner

    def handle(self, claimed: Claimed) -> Held | None:
        """Process one claimed step message and delete it, or keep its claim for the one message that
        follows (exceptions leave it to come back)."""
        try:
            message = claimed.step or parse_step_message(claimed.body)
        except ContractError as error:
            self._effects.reject(claimed, f"invalid step message: {error}", id_of(claimed.body, "notification_id"))
        else:
            actions = self._handle(claimed, message)
            held = self._held(claimed, actions)
            if held is not None:
                return held
            self._effects.apply(claimed, str(message.notification_id), actions)
        self._services.queues.delete(claimed)
        return None

    def _handle(self, claimed: Claimed, message: StepMessage) -> list[flow.Action]:
        now = self._services.clock()
        nid = str(message.notification_id)
        if message.not_before is not None and now < message.not_before:
            delay, _ = hop(now, remaining(now, message.not_before))
            return [flow.Post(message, delay)]
        record = self._services.journal.get_notification_record(nid)
        if record is None:
            self._effects.dead_letter(claimed, f"unknown notification {nid}", None)
            return []
        if record.status in TERMINAL:
            log.info("step of an ended notification dropped", extra=_labels(message))
            return []
        refusal = record.flow_refusal(message.flow)
        if refusal is not None:  # a forged or stale message: refused, the recovery itself goes on
            self._effects.dead_letter(claimed, refusal, nid)
            return []
        frame = flow.Frame(self._services.table, now, record.deadline)
        return self._decide(message, record, frame)

    def _held(self, claimed: Claimed, actions: list[flow.Action]) -> Held | None:
        """The one message ``actions`` post, kept here when it can run and end before the claim expires; a look
        at a server Nova announces to this process waits for news up to its poll (``NovaNews.poll``: from
        ``nova_notifications.poll_seconds``, longer while its looks find no news), as far as the claim allows."""
        match actions:
            case [flow.Post(message=message) as post] if message.step in self._services.table:
                services = self._services
                timeout = services.table[message.step].timeout_seconds
                expires = claimed.claimed_at + services.settings.gateway.claim_ttl_seconds
                room = expires - time.monotonic() - timeout - LEASE_MARGIN.total_seconds()
                key = str(message.instance_uuid) if post.announced else None
                delay = post.delay
                if key is not None and services.news.following(key):
                    poll = services.news.poll(key, services.settings.nova_notifications.poll_seconds)
                    delay = max(delay, min(room, poll))
                if delay <= room:
                    waiter = str(message.notification_id) if post.until_branch_ends else None
                    return Held(replace(claimed, body=message.to_dict(), step=message), delay, waiter, key)
        return None

    def _decide(self, message: StepMessage, record: NotificationRecord, frame: flow.Frame) -> list[flow.Action]:
        now = frame.now
        problems = flow_problems(message.flow, self._services.table)
        if problems:
            return flow.fail(message, "; ".join(problems))
        if now >= message.deadline:
            return flow.fail(message, "the step's deadline passed before it ran")
        spec = self._services.table[message.step]
        key = StepKey(str(message.notification_id), message.step, _instance(message))
        lease = timedelta(seconds=spec.timeout_seconds) + LEASE_MARGIN
        started = ProgressNote(f"attempt {message.attempt} started", 0.0)
        start = self._services.journal.begin_step(key, lease, self._owner(), note=started)
        if isinstance(start, StepBusy):  # look again soon: the other run usually ends well before its lease
            until_free = remaining(now, start.record.lease_expires_at)
            recheck = self._services.settings.retry.recheck_interval_seconds
            return [flow.Post(message, min(MAX_ZAQAR_DELAY, until_free, recheck))]
        if isinstance(start, StepDone):
            return flow.advance(message, frame, _fanned_out(start))
        return self._run(message, record, start, frame)

    def _run(
        self, message: StepMessage, record: NotificationRecord, claim: StepClaim, frame: flow.Frame
    ) -> list[flow.Action]:
        services = self._services
        spec = services.table[message.step]
        context = RunContext(
            request_id=new_request_id(),
            notification=notification_of(record),
            settings=services.settings,
            journal=services.journal,
            cloud=services.cloud,
            now=services.clock,
            deadline=message.deadline,
        )
        labels = {**_labels(message), "request_id": context.request_id}
        with carrying(context.request_id):
            outcome = execute(lambda: spec.run(message, context), spec.timeout_seconds, message.step, labels)
        log.info("step ran", extra={**labels, "outcome": type(outcome).__name__})
        try:
            return self._record(message, claim, outcome, replace(frame, now=services.clock()))
        except StaleStepClaimError:
            log.warning("step run taken over by another worker; its result is dropped", extra=labels)
            return []

    def _record(
        self, message: StepMessage, claim: StepClaim, outcome: Outcome, frame: flow.Frame
    ) -> list[flow.Action]:
        journal, table = self._services.journal, self._services.table
        match outcome:
            case Done(result=result, fan_out=fan_out):
                stored = {**result, flow.FAN_OUT_KEY: [str(item) for item in fan_out]} if fan_out else result
                done = "succeeded" + (f", {len(fan_out)} instances" if fan_out else "")
                journal.finish_step(claim, stored, note=ProgressNote(done, 1.0))
                return flow.advance(message, frame, fan_out)
            case Skipped(reason=reason, result=result):
                journal.skip_step(claim, {**result, "skipped": reason}, note=ProgressNote(f"skipped: {reason}", 1.0))
                return flow.advance(message, frame, ())
            case Retry(reason=reason, delay=delay, until_branch_ends=waits, outage=outage, announced=announced):
                journal.fail_step(claim, reason, note=ProgressNote(f"attempt {message.attempt} failed: {reason}", 1.0))
                policy = table[message.step].retry or self._services.settings.retry
                return flow.retry(message, policy, delay, reason, frame.now, until_branch_ends=waits, outage=outage,
                                  announced=announced and message.instance_uuid is not None)
            case Fail(reason=reason):
                return self._give_up(message, claim, reason)
        return self._give_up(message, claim, f"{type(outcome).__name__} is not a step outcome (intake only)")

    def _give_up(self, message: StepMessage, claim: StepClaim, reason: str) -> list[flow.Action]:
        self._services.journal.fail_step(claim, reason, note=ProgressNote(f"failed: {reason}", 1.0))
        return flow.fail(message, reason)


def _instance(message: StepMessage) -> str:
    return "" if message.instance_uuid is None else str(message.instance_uuid)


def _fanned_out(done: StepDone) -> tuple[UUID, ...]:
    result = done.record.result or {}
    if done.record.status != StepStatus.SUCCEEDED:
        return ()
    return tuple(UUID(item) for item in result.get(flow.FAN_OUT_KEY, ()))


def _labels(message: StepMessage) -> dict[str, Any]:
    return {
        "notification_id": str(message.notification_id),
        "step": message.step,
        "instance_uuid": _instance(message),
        "attempt": message.attempt,
    }

