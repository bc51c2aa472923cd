"""The window of evacuations in flight: at the ceiling while Nova answers in time, halved by trouble once per
moment of trouble, grown back by one per request accepted in time, never below one (a fake clock); the looks
at an evacuation paced by the settle times seen and answered by one listing of the failed host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from vmha.functions.pacing import SLOW_ACCEPT_SECONDS, Settling, Sightings, Window


def test_the_window_stays_at_the_ceiling_while_nova_accepts_in_time() -> None:
    window = Window(clock=lambda: 0.0)
    window.accepted(0.5, 50)
    assert window.size(50) == 50
    assert window.size(20) == 20  # the operator lowered the ceiling


def test_trouble_halves_the_window_once_per_moment_and_good_answers_grow_it_back() -> None:
    now = [100.0]
    window = Window(clock=lambda: now[0])
    window.accepted(SLOW_ACCEPT_SECONDS + 1, 40)
    window.troubled(40)  # the same moment of trouble: not counted twice
    assert window.size(40) == 20
    now[0] += SLOW_ACCEPT_SECONDS
    window.troubled(40)
    assert window.size(40) == 10
    for _ in range(3):
        window.accepted(0.2, 40)
    assert window.size(40) == 13
    for _ in range(30):
        window.accepted(0.2, 40)
    assert window.size(40) == 40


def test_the_window_never_closes() -> None:
    now = [0.0]
    window = Window(clock=lambda: now[0])
    for _ in range(10):
        window.troubled(4)
        now[0] += SLOW_ACCEPT_SECONDS
    assert window.size(4) == 1


def test_looks_wait_for_half_the_usual_settle_time_once_it_is_known() -> None:
    settling = Settling()
    settling.settled(20.0)
    settling.settled(30.0)
    assert settling.wait(1.0) == 0.0  # two times are not yet a pace
    settling.settled(40.0)
    assert settling.wait(1.0) == 14.0
    assert settling.wait(16.0) == 0.0


def test_one_listing_of_the_failed_host_answers_every_look_for_half_a_second() -> None:
    sightings, reads = Sightings(), []
    tasks = {"a": "rebuilding", "b": None}

    def listing() -> list[SimpleNamespace]:
        reads.append(1)
        return [SimpleNamespace(id=uuid, task_state=task) for uuid, task in tasks.items()]

    t0 = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    assert sightings.busy_on("n1", t0, "a", listing)
    assert not sightings.busy_on("n1", t0 + timedelta(seconds=0.4), "b", listing)  # no task: read on its own
    assert len(reads) == 1
    tasks["a"] = None
    assert not sightings.busy_on("n1", t0 + timedelta(seconds=0.6), "a", listing)
    assert sightings.busy_on("n2", t0 + timedelta(seconds=0.6), "x", lambda: [SimpleNamespace(id="x", task_state="t")])
    assert len(reads) == 2


def test_a_look_never_waits_for_another_threads_listing() -> None:
    sightings, answers = Sightings(), []
    t0 = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)

    def never() -> list[SimpleNamespace]:
        raise AssertionError("a second listing of a host while one is under way")

    def slow_listing() -> list[SimpleNamespace]:
        # looks of other threads while this listing runs (the lock is not held meanwhile): no wait, no listing
        answers.append(sightings.busy_on("n1", t0 + timedelta(seconds=0.1), "b", never))
        return [SimpleNamespace(id="a", task_state="rebuilding"), SimpleNamespace(id="b", task_state=None)]

    assert sightings.busy_on("n1", t0, "a", slow_listing)
    assert answers == [True]  # no listing yet: busy, so the look comes back later
    assert not sightings.busy_on("n1", t0 + timedelta(seconds=0.3), "b", never)  # the finished listing answers

    def second_listing() -> list[SimpleNamespace]:
        answers.append(sightings.busy_on("n1", t0 + timedelta(seconds=1.1), "a", never))
        answers.append(sightings.busy_on("n1", t0 + timedelta(seconds=1.1), "b", never))
        return []

    assert not sightings.busy_on("n1", t0 + timedelta(seconds=1.0), "a", second_listing)
    assert answers[1:] == [True, False]  # while it runs: the listing before answers


def test_a_failed_listing_lets_the_next_look_list() -> None:
    sightings = Sightings()
    t0 = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)

    def broken() -> list[SimpleNamespace]:
        raise TimeoutError("Nova did not answer")

    with pytest.raises(TimeoutError):
        sightings.busy_on("n1", t0, "a", broken)
    assert sightings.busy_on("n1", t0, "a", lambda: [SimpleNamespace(id="a", task_state="rebuilding")])


def test_a_server_seen_rebuilt_is_remembered_per_recovery_and_forgotten_with_it() -> None:
    sightings, now = Sightings(), datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    sightings.rebuilt("n1", "s1", now)
    assert sightings.was_rebuilt("n1", "s1")
    assert not sightings.was_rebuilt("n1", "s2") and not sightings.was_rebuilt("n2", "s1")
    sightings.rebuilt("n2", "s9", now + timedelta(hours=1))  # n1 not touched for an hour: dropped
    assert not sightings.was_rebuilt("n1", "s1") and sightings.was_rebuilt("n2", "s9")
