"""Carry out the actions of vmha.runtime.flow against the journal and the queues.

Every action is safe to repeat: a redelivered message may carry out the same actions again (a posted step
that ran already finds its journal record and does nothing; a status already set is a no-op). A notification
failed here is escalated (vmha.escalation) only by the call whose journal write failed it: once, whatever
the replicas and redeliveries. So are Masakari's versioned notifications of a recovery (vmha.versioned_notifications):
notification.process.start by the call that set it running, .end by the one that finished or ignored it, .error
by the one that failed it.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from vmha.cloud.request_ids import carrying
from vmha.contracts import ContractError, FailureType, StepMessage
from vmha.contracts.validation import load_json
from vmha.escalation import Escalation
from vmha.journal import (
    IllegalTransitionError,
    InstanceStatus,
    NotificationRecord,
    NotificationStatus,
    UnknownNotificationError,
)
from vmha.runtime.backoff import zaqar_delay
from vmha.runtime.context import RunContext, new_request_id, notification_of
from vmha.runtime.flow import Action, DeadLetter, EndBranch, Frame, Post, SetStatus, join_steps, joined
from vmha.runtime.held import HeldMessages
from vmha.runtime.queues import Claimed
from vmha.runtime.services import Services
from vmha.runtime.wakeup import Wakeup
from vmha.versioned_notifications import Phase

log = logging.getLogger(__name__)

DEAD_LETTER_TTL = 1_209_600
"""Dead letters live 14 days, Zaqar's longest message TTL, for an operator to read."""
MAX_DEAD_BODY = 131_072
"""A dead letter quotes at most this many characters of the message (Zaqar takes 256 KiB per post)."""
POST_BATCH = 20
"""Step messages posted in one request at most: a fan-out's branches show at once instead of one request
apart. Only a fan-out posts more than one, and its messages carry no args: at most about 4.5 KiB each (a flow
of 64 step ids of 64 characters), 90 KiB a request, within Zaqar's 256 KiB per post."""
_TTL_MARGIN = 3600
_MIN_TTL = 60


class Effects:
    """Posts, dead letters, status changes and branch bookkeeping of one gateway."""

    def __init__(self, services: Services, wakeup: Wakeup, escalation: Escalation, held: HeldMessages) -> None:
        self._services = services
        self._wakeup = wakeup
        self._escalation = escalation
        self._held = held

    def apply(self, claimed: Claimed, notification_id: str, actions: Sequence[Action]) -> None:
        """Carry out ``actions`` in order for the message ``claimed`` of notification ``notification_id``; consecutive
        posts (a fan-out's branches) go out together (``post_steps``)."""
        posts: list[Post] = []
        for action in actions:
            if isinstance(action, Post):
                posts.append(action)
                continue
            self.post_steps(posts)
            posts = []
            match action:
                case DeadLetter(reason=reason):
                    self.dead_letter(claimed, reason, notification_id)
                case SetStatus(status=status, reason=reason):
                    self.set_status(notification_id, status, reason)
                case EndBranch(message=message, reason=reason):
                    self._end_branch(claimed, notification_id, message, reason)
        self.post_steps(posts)

    def post_steps(self, posts: Sequence[Post]) -> None:
        """Post the step messages of ``posts``, each living until some time after its deadline, those alike in life
        and delay (a fan-out's branches) in requests of up to ``POST_BATCH``; wake a consumer for each when it
        shows."""
        now, batches = self._services.clock(), defaultdict[tuple[int, int], list[dict[str, Any]]](list)
        for post in posts:
            shows = zaqar_delay(post.delay)
            left = int((post.message.deadline - now).total_seconds())
            batches[max(_MIN_TTL, left) + shows + _TTL_MARGIN, shows].append(post.message.to_dict())
        for (ttl, shows), documents in batches.items():
            for first in range(0, len(documents), POST_BATCH):
                batch = documents[first:first + POST_BATCH]
                self._services.queues.post(self._services.settings.queues.steps, batch, ttl=ttl, delay=shows)
                for _ in batch:
                    if shows:
                        self._wakeup.wake_after(shows)
                    else:
                        self._wakeup.wake(steps=True)

    def dead_letter(self, claimed: Claimed, reason: str, notification_id: str | None) -> None:
        """Copy ``claimed`` to the dead-letter queue with ``reason`` (nothing is lost)."""
        letter = {
            "reason": reason.encode("utf-8", "backslashreplace").decode(),
            "queue": claimed.queue,
            "message_id": claimed.id,
            "notification_id": notification_id,
            "at": self._services.clock().isoformat(),
            "body": _bounded(claimed.body),
        }
        self._services.queues.post(self._services.settings.queues.dead_letters, [letter], ttl=DEAD_LETTER_TTL)
        log.warning("dead-lettered", extra={"queue": claimed.queue, "notification_id": notification_id,
                                            "reason": reason})

    def reject(self, claimed: Claimed, reason: str, notification_id: str | None) -> None:
        """Dead-letter a message that breaks its contract; note it on its notification if that is known."""
        self.dead_letter(claimed, reason, notification_id)
        if notification_id is None:
            return
        try:
            self._services.journal.add_progress_event(notification_id, "runtime", f"rejected: {reason}", 1.0)
        except UnknownNotificationError:
            log.info("rejected message names an unknown notification", extra={"notification_id": notification_id})

    def set_status(self, notification_id: str, status: NotificationStatus, reason: str | None = None) -> None:
        """Move the notification to ``status``; a notification that ended meanwhile keeps its end."""
        try:
            moved = self._services.journal.move_status(notification_id, status, reason)
        except IllegalTransitionError as error:
            log.info("status not changed", extra={"notification_id": notification_id, "reason": str(error)})
            return
        log.info("notification status", extra={"notification_id": notification_id, "status": str(status),
                                               "reason": reason})
        if moved is None:
            return
        if status is NotificationStatus.FAILED:
            self.failed(moved)
        elif status is NotificationStatus.RUNNING:
            self._services.events.notification("process", Phase.START, moved)
        elif status in (NotificationStatus.FINISHED, NotificationStatus.IGNORED):
            self._services.events.notification("process", Phase.END, moved)

    def failed(self, record: NotificationRecord) -> None:
        """``record`` was just failed by this call: announce and escalate it, then run the failure hook (errors
        logged)."""
        self._services.events.notification("process", Phase.ERROR, record, record.status_reason or "failed")
        self._escalation.failed(record)
        services = self._services
        if services.on_failed is None:
            return
        if not FailureType.names(record.type):  # vmha's own (a failback): no recovery to undo
            return
        context = RunContext(new_request_id(), notification_of(record), services.settings, services.journal,
                             services.cloud, services.clock, services.clock() + services.ceiling)
        try:
            with carrying(context.request_id):
                services.on_failed(record, context)
        except Exception:
            log.exception("the failure hook failed", extra={"notification_id": record.id})

    def _end_branch(self, claimed: Claimed, notification_id: str, message: StepMessage, reason: str | None) -> None:
        journal = self._services.journal
        if reason is not None:
            journal.record_instance_progress(notification_id, str(message.instance_uuid), InstanceStatus.FAILED,
                                             message=reason)
        services = self._services
        state = journal.get_join(notification_id, *join_steps(message, services.table))
        if state is not None:
            frame = Frame(services.table, services.clock(), state.notification.deadline)
            self.apply(claimed, notification_id, joined(message, frame, state))
        self._held.branch_ended(notification_id)


def id_of(body: Any, field: str) -> str | None:
    """The notification id a rejected message claims (``body[field]``), if it is a UUID; trusted for nothing else."""
    value = body.get(field) if isinstance(body, dict) else None
    try:
        return str(UUID(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _bounded(body: Any) -> Any:
    """``body`` itself, its first MAX_DEAD_BODY characters of JSON when it is too large to quote whole, or
    why it is not quoted (nested too deep, not valid Unicode: Zaqar would refuse the letter)."""
    if isinstance(body, str):
        body = body.encode("utf-8", "backslashreplace").decode()
        text = json.dumps(body)
    else:
        try:
            text = json.dumps(load_json(body))
        except ContractError as error:
            return {"unquoted": str(error)}
    if len(text) <= MAX_DEAD_BODY:
        return body
    return {"truncated": True, "size": len(text), "start": text[:MAX_DEAD_BODY]}
