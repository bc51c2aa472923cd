"""Waking held looks by Nova's news: the news registry, the wake by server, the reading of Nova's envelopes, the
listener facing a broker that is not there, and the confirmation's first look (on the fake cloud of the
function tests: Nova's versioned notifications need a real Nova, as in test_nova_news)."""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vmha.cloud.nova import get_server
from vmha.contracts import StepMessage, parse_settings
from vmha.functions.registry import STEPS
from vmha.functions.steps import confirm_instance_evacuated
from vmha.journal import Journal, NotificationStatus
from vmha.nova_news import KEPT_SECONDS, MAX_POLL_DOUBLINGS, News, NovaNews
from vmha.outcomes import Done, Fail
from vmha.runtime.flow import Post
from vmha.runtime.held import Held, HeldMessages
from vmha.runtime.nova_listener import NovaListener, announcement
from vmha.runtime.queues import Claimed
from vmha.runtime.runner import StepRunner
from vmha.runtime.services import LEASE_MARGIN, Services
from vmha.runtime.wakeup import Wakeup

from .functions_support import World, fail_host, host_down, make_world
from .journal_support import FakeClock

SERVER, OTHER = "6d0e4b1e-0d5c-4a43-9a59-2b4b8a3e1c01", "0b7e3c55-54f6-4c1d-8e8e-0b2f4d1c9a02"
CONFIRM = STEPS["confirm_instance_evacuated"]
POLL = 5.0


def _held(name: str, delay: float, key: str | None = None) -> Held:
    return Held(Claimed("steps", name, "claim", {"name": name}, time.monotonic()), delay, None, key)


def _envelope(event_type: str, **data: Any) -> dict[str, str]:
    """An AMQP body as Nova's messagingv2 notifier sends it (a versioned payload inside oslo's envelope)."""
    payload = {"nova_object.name": "InstanceUpdatePayload", "nova_object.namespace": "nova",
               "nova_object.version": "2.0", "nova_object.data": {"uuid": SERVER, **data}}
    message = {"message_id": "m", "publisher_id": "nova-compute:compute2", "event_type": event_type,
               "priority": "INFO", "payload": payload, "timestamp": "2026-12-04 18:00:00.000000"}
    return {"oslo.version": "2.0", "oslo.message": json.dumps(message)}


def test_news_of_a_server_wakes_only_its_held_looks_all_at_once() -> None:
    held = HeldMessages(Wakeup())
    for name, key in [("look-a", SERVER), ("look-b", SERVER), ("look-other", OTHER), ("plain", None)]:
        held.hold(_held(name, 60, key))
    assert held.pop_due() is None
    assert held.wake(SERVER) == 2
    woken = {claimed.id for claimed in (held.pop_due(), held.pop_due()) if claimed is not None}
    assert woken == {"look-a", "look-b"}
    assert held.pop_due() is None, "neither another server's look nor a plain message runs early"
    assert held.wake(SERVER) == 0


def test_losing_the_broker_runs_every_look_held_for_news_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    held = HeldMessages(Wakeup())
    for name, key in [("look-a", SERVER), ("look-other", OTHER), ("plain", None)]:
        held.hold(_held(name, 60, key))
    news = NovaNews()
    options = parse_settings({"nova_notifications": {"transport_url": "rabbit://u:p@127.0.0.1:9/"}}, {})
    listener = NovaListener(options.nova_notifications, news, held.wake, held.wake_announced)

    def consumed_then_lost() -> None:
        news.connected(True)
        raise ConnectionResetError("the broker closed the connection")

    monkeypatch.setattr(listener, "_consume", consumed_then_lost)
    listener.start()
    woken: set[str] = set()
    deadline = time.monotonic() + 10
    while len(woken) < 2 and time.monotonic() < deadline:
        claimed = held.pop_due()
        if claimed is None:
            time.sleep(0.01)
        else:
            woken.add(claimed.id)
    listener.stop(10)
    assert woken == {"look-a", "look-other"}
    assert held.pop_due() is None, "a message held for another reason keeps its time"
    assert not news.following(SERVER)


def test_news_heard_while_the_look_ran_makes_its_hold_due_at_once() -> None:
    news = NovaNews()
    held = HeldMessages(Wakeup(), news.pending)
    news.heard(SERVER, settled=True)  # came after the look read Nova, before its Retry was held
    held.hold(_held("look", 60, SERVER))
    held.hold(_held("other", 60, OTHER))
    first = held.pop_due()
    assert first is not None and first.id == "look"
    assert held.pop_due() is None


def test_a_server_is_followed_only_while_connected_and_its_news_is_taken_once() -> None:
    now = [0.0]
    news = NovaNews(lambda: now[0])
    news.heard(SERVER, settled=False)
    assert not news.following(SERVER), "not connected"
    news.connected(True)
    assert news.following(SERVER) and not news.following(OTHER)
    assert news.take(SERVER) is None, "an event that tells no settling is no news"
    news.heard(SERVER, settled=True, host="compute1")
    news.heard(SERVER, settled=True, host="compute2")  # the latest tells where Nova names it now
    assert news.pending(SERVER) and news.take(SERVER) == News("compute2")
    assert not news.pending(SERVER) and news.take(SERVER) is None
    news.heard(SERVER, settled=True)
    news.heard(SERVER, settled=False)  # e.g. a task begun since: the news is stale
    assert not news.pending(SERVER) and news.take(SERVER) is None
    now[0] += KEPT_SECONDS
    assert not news.following(SERVER), "heard too long ago"
    news.connected(False)
    news.heard(OTHER, settled=False)
    assert not news.following(OTHER)


def test_a_servers_poll_doubles_while_its_looks_find_no_news_and_news_brings_it_back() -> None:
    news = NovaNews()
    assert news.take(SERVER) is None and news.poll(SERVER, 5.0) == 5.0, "never heard of: nothing counted"
    news.heard(SERVER, settled=False)
    assert news.poll(SERVER, 5.0) == 5.0, "no look yet"
    assert news.take(SERVER) is None
    assert news.poll(SERVER, 5.0) == 10.0 and news.poll(OTHER, 5.0) == 5.0
    for _ in range(MAX_POLL_DOUBLINGS + 3):
        news.take(SERVER)
    assert news.poll(SERVER, 5.0) == 5.0 * 2**MAX_POLL_DOUBLINGS, "doubled no further"
    news.heard(SERVER, settled=True)
    assert news.take(SERVER) == News(None)
    assert news.poll(SERVER, 5.0) == 5.0


@pytest.mark.parametrize(("event_type", "data", "expected"), [
    ("instance.update", {"task_state": None, "state": "active", "host": "compute2"},
     (SERVER, True, "compute2", False)),
    ("instance.update", {"task_state": None, "state": "error", "host": "compute2"}, (SERVER, True, "compute2", True)),
    ("instance.update", {"task_state": "rebuilding", "host": "compute2"}, (SERVER, False, "compute2", False)),
    ("instance.rebuild.end", {"task_state": None, "host": "compute1"}, (SERVER, True, "compute1", False)),
    ("instance.evacuate", {"task_state": "rebuilding"}, (SERVER, False, None, False)),
    ("instance.rebuild.error", {"task_state": "rebuilding", "host": 7}, (SERVER, True, None, True)),
    ("instance.power_off.end", {"task_state": None}, (SERVER, True, None, False)),
    ("service.update", {"task_state": None}, None),
])
def test_nova_envelopes_name_the_server_and_whether_it_may_have_settled(
        event_type: str, data: dict[str, Any], expected: tuple[str, bool, str | None, bool] | None) -> None:
    assert announcement(_envelope(event_type, **data)) == expected


def test_news_of_a_server_still_on_the_host_it_is_awaited_off_wakes_nothing_unless_it_tells_of_an_error() -> None:
    news = NovaNews()
    news.leaving(SERVER, "compute1")  # never heard of: not kept
    assert news.heard(SERVER, settled=True, host="compute1")
    news.leaving(SERVER, "compute1")
    assert not news.heard(SERVER, settled=True, host="compute1"), "rebuilt, not moved yet"
    assert not news.pending(SERVER) and news.take(SERVER) == News("compute1"), "a look running anyway takes it"
    assert news.heard(SERVER, settled=True, host="compute1", error=True), "an error there is worth a look"
    assert news.pending(SERVER)
    assert news.heard(SERVER, settled=True, host="compute2"), "moved"
    assert news.heard(SERVER, settled=True), "no host named"
    assert not news.heard(SERVER, settled=False, host="compute2"), "a task begun is no news"
    assert news.heard(OTHER, settled=True, host="compute1"), "another server's looks await no move"


@pytest.mark.parametrize("body", [
    "text", None, {"oslo.message": "{not json"}, {"oslo.message": json.dumps({"event_type": "instance.update"})},
    {"oslo.message": json.dumps({"event_type": "instance.update", "payload": {"nova_object.data": {"uuid": 7}}})},
    {"event_type": "instance.update", "payload": ["list"]},
])
def test_anything_else_on_the_topic_is_ignored(body: Any) -> None:
    assert announcement(body) is None


def test_a_broker_that_is_not_there_is_logged_counted_and_follows_nothing(caplog: pytest.LogCaptureFixture) -> None:
    options = parse_settings({"nova_notifications": {"transport_url": "rabbit://u:p@127.0.0.1:9/",
                                                     "timeout_seconds": 1}}, {}).nova_notifications
    news = NovaNews()
    news.heard(SERVER, settled=True)
    woken: list[str] = []

    def wake_all() -> int:
        woken.append("all")
        return 0

    listener = NovaListener(options, news, lambda server: 0, wake_all)
    with caplog.at_level(logging.WARNING, logger="vmha.runtime.nova_listener"):
        listener.start()
        deadline = time.monotonic() + 30
        while not listener.counts.get("failures") and time.monotonic() < deadline:
            time.sleep(0.05)
        listener.stop(10)
    assert listener.counts.get("failures", 0) >= 1
    assert not news.following(SERVER)
    assert not woken, "never connected: no look waited for its news"
    messages = [record.getMessage() for record in caplog.records if record.name == "vmha.runtime.nova_listener"]
    assert messages and set(messages) == {"not hearing Nova's notifications; confirmations poll"}


def _followed(journal: Journal, clock: FakeClock, monkeypatch: pytest.MonkeyPatch,
              pending: bool = False) -> tuple[World, Any, list[datetime]]:
    """A world whose compute1 failed holding one server Nova announced (its lock, its evacuation; ``pending``:
    with news no look took yet), and the times the confirmation read that server at."""
    world = make_world(journal, clock)
    server = world.nova.add_server("compute1")
    fail_host(world)
    news = NovaNews()
    news.connected(True)
    news.heard(server.id, settled=pending)
    monkeypatch.setattr(confirm_instance_evacuated, "NEWS", news)
    reads: list[datetime] = []

    def counted(cloud: Any, uuid: str) -> Any:
        reads.append(clock.now)
        return get_server(cloud, uuid)

    monkeypatch.setattr(confirm_instance_evacuated, "get_server", counted)
    return world, server, reads


@pytest.mark.parametrize(("pending", "expected"), [(False, 1), (True, 2)])
def test_the_first_look_at_an_announced_evacuation_reads_nothing_until_news(
        journal: Journal, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, pending: bool, expected: int) -> None:
    world, server, reads = _followed(journal, clock, monkeypatch, pending)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    assert isinstance(run.of("confirm_instance_evacuated", server.id), Done) and server.compute_host != "compute1"
    # the first look (Nova still evacuating) reads the server only when news already came; the next one settles it
    assert len(reads) == expected


def test_a_followed_server_whose_news_never_comes_is_read_alone_after_the_fallback_wait(
        journal: Journal, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    world, server, reads = _followed(journal, clock, monkeypatch)  # then nothing more is heard of it
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    assert isinstance(run.of("confirm_instance_evacuated", server.id), Done) and server.compute_host != "compute1"
    [record] = world.journal.list_notifications(limit=1)
    detail = world.journal.get_notification(record.id, with_events=False)
    assert detail is not None
    [evacuated] = [step.finished_at for step in detail.steps if step.key.step_id == "evacuate_instance"]
    # the first look waited for news; the next, woken by its timer, read the server (no listing of the failed
    # host: a followed server's looks are few) and settled it
    poll = timedelta(seconds=world.settings.nova_notifications.poll_seconds)
    assert evacuated is not None and len(reads) == 1 and reads[0] - evacuated >= poll
    calls = [call[0] for call in world.nova.calls]
    assert "servers" not in calls[calls.index("evacuate_server"):]


def test_a_fallback_look_reads_a_followed_server_only_once_novas_evacuation_record_ended(
        journal: Journal, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    world, server, reads = _followed(journal, clock, monkeypatch)  # then nothing more is heard of it
    settle, kept = world.nova.settle, list[datetime]()

    def slow_nova() -> None:  # Nova keeps the server queued and rebuilding through two waits after the request
        if server.pending is not None and len(kept) < 2:
            kept.append(clock.now)
            return
        settle()

    monkeypatch.setattr(world.nova, "settle", slow_nova)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED and len(kept) == 2
    assert isinstance(run.of("confirm_instance_evacuated", server.id), Done) and server.compute_host != "compute1"
    # the fallback looks while Nova's evacuation record was open (after the first look's wait and the second's)
    # asked only the record; the one that found it ended read the server
    calls = [call[0] for call in world.nova.calls]
    assert calls[calls.index("evacuate_server"):].count("migrations") == len(kept) + 1 and len(reads) == 1


@pytest.mark.parametrize(("claim_left", "followed", "expected"), [
    (300.0, False, 1.0),  # not followed: the step's own delay
    (300.0, True, 2 * POLL),  # followed, one silent look since the last news: twice the poll
    (CONFIRM.timeout_seconds + LEASE_MARGIN.total_seconds() + 3.0, True, 3.0),  # cut short where the claim ends
])
def test_a_held_look_at_a_followed_server_waits_its_poll_as_far_as_the_claim_allows(
        journal: Journal, claim_left: float, followed: bool, expected: float) -> None:
    news = NovaNews()
    news.connected(followed)
    news.heard(SERVER, settled=False)
    news.take(SERVER)  # one look found no news
    options = {"nova_notifications": {"poll_seconds": POLL}, "gateway": {"claim_ttl_seconds": 300}}
    services = Services(parse_settings(options, {}), journal, None, STEPS,  # type: ignore[arg-type]
                        lambda *args: Fail("no intake here"), None, news=news)
    message = StepMessage(uuid.uuid4(), CONFIRM.id, 2, (CONFIRM.id,), 0, datetime.now(UTC), uuid.UUID(SERVER))
    claimed = Claimed("steps", "m", "claim", message.to_dict(), time.monotonic() - 300 + claim_left)
    held = StepRunner(services, None)._held(claimed, [Post(message, 1.0, announced=True)])  # type: ignore[arg-type]
    assert held is not None and held.wake_key == SERVER
    assert held.delay == pytest.approx(expected, abs=0.1)
    assert (held.claimed.step, held.claimed.body) == (message, message.to_dict())  # run as it is, not parsed again
