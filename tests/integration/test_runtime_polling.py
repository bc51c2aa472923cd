"""How the consumers of one process look for work on the real Zaqar: unwoken, one poll per interval for the
whole process; a claim that found a message makes one more consumer look; a held message's wake-up asks Zaqar
nothing; a wake-up for a posted step claims the steps queue first; the next step of a chain runs at once;
Zaqar's endpoint looked up once and its requests sharing a kept connection. (One test drives a consumer's
private look and store: the behaviour is a worker's, no public call shows it.)"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest
import urllib3
from zaqarclient.transport import errors as zaqar_errors

from vmha.journal import NotificationStatus
from vmha.runtime import Consumer, ZaqarQueues
from vmha.runtime.held import Held
from vmha.runtime.queues import Claimed

from .runtime_support import CountingQueues, Place, running, wait_ended

WORKERS = 4
INTERVAL = 1.0
IDLE = 4.5


def test_idle_consumers_poll_once_per_interval_together_and_work_still_gets_done(place: Place) -> None:
    queues = CountingQueues(place.conn.session)
    services = place.services(place.settings(workers=WORKERS, poll_interval_seconds=INTERVAL), queues)
    with running(services):
        time.sleep(IDLE)
        idle = sum(queues.claims.values())
        nid = place.notify("flow:ok,ok2")
        detail = wait_ended(services.journal, nid)
    # Each worker's first look, then one poll per interval: 2 claims (notifications, steps) each, 18 at most.
    # Every worker polling on its own made 2 x 4 x (1 + 4) = 40.
    assert 2 * WORKERS <= idle <= 2 * (WORKERS + IDLE / INTERVAL)
    assert detail.notification.status is NotificationStatus.FINISHED


def test_a_claim_that_found_a_message_wakes_one_more_consumer_and_a_held_wake_up_claims_nothing(
    place: Place,
) -> None:
    queues = CountingQueues(place.conn.session)
    consumer = Consumer(place.services(place.settings(), queues))  # not started: the test drives one look
    for queue in place.queues.values():
        queues.prepare(queue)
    place.post("notifications", {"not": "a notification"})  # claimed and dead-lettered: nothing posted

    seen = consumer.wakeup.generation
    found = consumer.poll_once()

    assert found.name == "CLAIMED"
    assert consumer.wakeup.generation == seen + 1
    before = sum(queues.claims.values())
    assert consumer.poll_once(queues=False).name == "NOTHING"
    assert sum(queues.claims.values()) == before
    consumer.wakeup.wake_after(0, held=True)
    assert consumer.wakeup.wait(consumer.wakeup.generation, 60) is False  # a held message's: Zaqar not asked
    consumer.wakeup.wake_after(0)
    assert consumer.wakeup.wait(consumer.wakeup.generation, 60) is True  # a delayed message shows in Zaqar


def test_a_look_answering_a_posted_steps_wake_up_claims_the_steps_queue_first(place: Place) -> None:
    queues = CountingQueues(place.conn.session)
    consumer = Consumer(place.services(place.settings(), queues))  # not started: the test drives its looks
    for queue in place.queues.values():
        queues.prepare(queue)
    steps, notifications = place.queues["steps"], place.queues["notifications"]
    place.post("steps", {"not": "a step"})  # claimed and dead-lettered: nothing posted
    consumer.wakeup.wake(steps=True)
    assert consumer.poll_once().name == "CLAIMED"
    assert (queues.claims[steps], queues.claims[notifications]) == (1, 0)  # one request for it, not two
    place.post("steps", {"not": "a step either"})
    assert consumer.poll_once().name == "CLAIMED"  # any other look: the notifications queue first
    assert (queues.claims[steps], queues.claims[notifications]) == (2, 1)


def test_zaqars_endpoint_is_looked_up_once_not_at_every_request(place: Place, monkeypatch: pytest.MonkeyPatch) -> None:
    session = place.conn.session
    lookups: list[Any] = []
    look_up = session.get_endpoint

    def counted(*args: Any, **kwargs: Any) -> Any:
        lookups.append(kwargs.get("service_type"))
        return look_up(*args, **kwargs)

    monkeypatch.setattr(session, "get_endpoint", counted)
    queues = ZaqarQueues(session)
    name = place.queues["steps"]
    queues.prepare(name, delays=True)
    for number in range(3):
        queues.post(name, [{"number": number}], ttl=60)
    claimed = [queues.claim(name, 60, 60) for _ in range(3)]
    assert sorted(item.body["number"] for item in claimed if item is not None) == [0, 1, 2]
    assert all(queues.delete(item) for item in claimed if item is not None)
    assert queues.claim(name, 60, 60) is None
    assert lookups.count("messaging") == 1


def test_zaqars_requests_share_a_kept_connection_and_its_errors_stay_the_clients(
    place: Place, monkeypatch: pytest.MonkeyPatch,
) -> None:
    queues = ZaqarQueues(place.conn.session)
    name = place.queues["steps"]
    queues.prepare(name, delays=True)
    opened: list[Any] = []
    connect = urllib3.util.connection.create_connection

    def counted(*args: Any, **kwargs: Any) -> Any:
        opened.append(args[0])
        return connect(*args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", counted)
    for number in range(6):
        queues.post(name, [{"number": number}], ttl=60)
    assert len(opened) <= 1  # the client alone opens a connection for each request, and drops it
    claimed = queues.claim(name, 60, 60)
    assert claimed is not None
    with pytest.raises(zaqar_errors.MalformedRequest, match="claim does not exist"):  # the client's mapping
        queues.delete(replace(claimed, claim_id="0" * 24))
    assert queues.delete(claimed) is True


def test_the_next_step_of_a_chain_runs_at_once_in_the_same_worker_before_older_held_messages(place: Place) -> None:
    consumer = Consumer(place.services(place.settings(), CountingQueues(place.conn.session)))  # not started
    ran: list[tuple[str, str]] = []

    def handle(claimed: Claimed) -> Held | None:
        ran.append((claimed.body["step"], threading.current_thread().name))
        follows = {"first": ("second", 0.0), "second": ("third", 60.0)}.get(claimed.body["step"])
        return None if follows is None else Held(replace(claimed, body={"step": follows[0]}), follows[1])

    older = Claimed("steps", "older", "claim-1", {"step": "older"}, time.monotonic())
    consumer._held.hold(Held(older, 0.0))  # a look due already, held before the chain's step ran
    consumer._handle(Claimed("steps", "chain", "claim-2", {"step": "first"}, time.monotonic()), handle)

    me = threading.current_thread().name
    assert ran == [("first", me), ("second", me)]  # "third" is due in 60 s: held; "older" waits its turn
