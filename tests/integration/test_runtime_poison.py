"""Poison messages on the real Zaqar: a message claimed too often moves to the dead-letter queue by Zaqar's own
count (``_max_claim_count``, set by the runtime), and a message whose handling raises is dead-lettered by the
gateway with the error as its reason, unless the error is an outage (then it waits for its claim to expire)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy.exc

from tests.cloud.procs import wait_until
from vmha.contracts import StepMessage
from vmha.journal import Journal, NotificationRecord
from vmha.runtime import ZaqarQueues

from .runtime_support import Place, running

MAX_CLAIMS = 3


def test_a_message_claimed_max_claims_times_moves_to_the_dead_letter_queue_as_it_is(place: Place) -> None:
    queues = ZaqarQueues(place.conn.session)
    name, letters = place.queues["notifications"], place.queues["dead_letters"]
    queues.prepare(letters)
    queues.prepare(name, dead_letters=letters, max_claims=MAX_CLAIMS)
    queues.prepare(name, dead_letters=letters, max_claims=MAX_CLAIMS)  # idempotent
    metadata = place.client.queue(name, auto_create=False).metadata(force_reload=True)
    assert (metadata["_max_claim_count"], metadata["_dead_letter_queue"]) == (MAX_CLAIMS, letters)
    assert not metadata.get("_default_message_delay")  # notifications are never delayed
    body = {"poison": str(uuid.uuid4())}
    place.post("notifications", body)
    ids = set()
    for _ in range(MAX_CLAIMS):  # as a gateway that dies with the message claimed, every time
        claimed = queues.claim(name, 60, 60)
        assert claimed is not None and claimed.body == body
        ids.add(claimed.id)
        queues.release(claimed)
    assert queues.claim(name, 60, 60) is None  # this claim moved it: it stays claimed there for 60 s
    dead_letters = place.client.queue(letters, auto_create=False)
    assert dead_letters.stats["messages"]["total"] == 1
    [message_id] = ids
    assert dead_letters.message(message_id).body == body
    assert place.client.queue(name, auto_create=False).stats["messages"]["total"] == 0
    queues.prepare(name)
    assert place.client.queue(name, auto_create=False).metadata(force_reload=True).get("_max_claim_count") is None


class FaultyJournal:
    """The journal, but reading a notification raises: a bug for one id, the database down for another."""

    def __init__(self, journal: Journal, bug: str, outage: str) -> None:
        self._journal = journal
        self._bug = bug
        self._outage = outage

    def get_notification_record(self, notification_id: str) -> NotificationRecord | None:
        if notification_id == self._bug:
            raise RecursionError("maximum recursion depth exceeded")
        if notification_id == self._outage:
            raise sqlalchemy.exc.OperationalError("SELECT", {}, ConnectionRefusedError())
        return self._journal.get_notification_record(notification_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._journal, name)


def test_a_message_whose_handling_raises_is_dead_lettered_with_the_error_unless_it_is_an_outage(
        place: Place) -> None:
    bug, outage = uuid.uuid4(), uuid.uuid4()
    services = place.services(place.settings(poison_failures=1, max_claims=MAX_CLAIMS))
    faulty = FaultyJournal(services.journal, str(bug), str(outage))
    services = dataclasses.replace(services, journal=faulty)  # type: ignore[arg-type]
    deadline = datetime.now(UTC) + timedelta(hours=1)
    with running(services):
        for nid in (bug, outage):
            place.post("steps", StepMessage(nid, "ok", 1, ("ok",), 0, deadline).to_dict())
        assert wait_until(lambda: len(place.dead_letters()) >= 1, 30, 0.2)
        steps = place.client.queue(place.queues["steps"], auto_create=False)
        assert wait_until(lambda: steps.stats["messages"]["total"] == 1, 10, 0.2)
        [letter] = place.dead_letters()
        left = steps.stats["messages"]
    assert letter["notification_id"] == str(bug) and letter["queue"] == place.queues["steps"]
    assert letter["reason"] == "its handling failed 1 time, last: RecursionError: maximum recursion depth exceeded"
    assert (left["total"], left["claimed"]) == (1, 1)  # the outage's message waits for its claim to expire
