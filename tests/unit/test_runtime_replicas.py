"""When a gateway replica takes another for dead, and what a taken-over replica does (journal on SQLite; the
replica killed for real and its claims released in Zaqar: tests/integration/test_runtime_replicas.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from vmha.contracts import parse_settings
from vmha.journal import HeldClaim, Journal, StepClaim, StepKey, open_journal
from vmha.runtime.held import Held, HeldMessages
from vmha.runtime.queues import Claimed
from vmha.runtime.replicas import BEATS_PER_TAKEOVER, Replica
from vmha.runtime.services import Services
from vmha.runtime.wakeup import Wakeup

from .journal_support import recorded_notification

TAKEOVER = 10.0


class ReleasedClaims:
    """Zaqar's claim release, recorded (stand-in: a unit test has no Zaqar)."""

    def __init__(self) -> None:
        self.released: list[str] = []

    def release(self, claimed: Claimed) -> None:
        self.released.append(claimed.claim_id)


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with open_journal(f"sqlite:///{tmp_path / 'journal.db'}") as opened:
        yield opened


def replica(journal: Journal, queues: ReleasedClaims, clock: Monotonic, *, host: str = "ctl-1", pid: int = 100,
            gone: frozenset[int] = frozenset()) -> tuple[Replica, HeldMessages]:
    settings = parse_settings({"gateway": {"takeover_seconds": TAKEOVER}}, {})
    services: Any = Services(settings, journal, queues, {}, lambda *args: None, None)  # type: ignore[arg-type]
    held = HeldMessages(Wakeup())
    made = Replica(services, held, Wakeup(), host=host, pid=pid, exists=lambda pid: pid not in gone, clock=clock)
    made.join()
    return made, held


def test_a_replica_whose_beats_stop_is_taken_over_after_takeover_seconds(journal: Journal) -> None:
    queues, clock = ReleasedClaims(), Monotonic()
    dead, _ = replica(journal, queues, clock, host="ctl-1")
    survivor, _ = replica(journal, queues, clock, host="ctl-2")
    assert survivor.interval == TAKEOVER / BEATS_PER_TAKEOVER
    nid = recorded_notification(journal)
    run = journal.begin_step(StepKey(nid, "evacuate_instance", "i-1"), timedelta(minutes=5), dead.owner)
    assert isinstance(run, StepClaim)
    dead.holding(Claimed("steps", "m1", "claim-1", {}))
    dead.beat_once()
    assert survivor.beat_once() == ()
    clock.now += TAKEOVER - 1
    dead.beat_once()  # still beating: its count moved, the watch starts again
    assert survivor.beat_once() == ()
    clock.now += TAKEOVER - 1
    assert survivor.beat_once() == ()
    clock.now += 1
    assert survivor.beat_once() == (dead.owner,)
    assert queues.released == ["claim-1"]
    retaken = journal.begin_step(StepKey(nid, "evacuate_instance", "i-1"), timedelta(minutes=5), survivor.owner)
    assert isinstance(retaken, StepClaim) and retaken.attempt == 2
    assert journal.take_over(dead.owner) == ()  # its claim records are gone too


def test_a_replica_of_this_machine_whose_process_is_gone_is_taken_over_at_the_next_look(journal: Journal) -> None:
    queues, clock = ReleasedClaims(), Monotonic()
    dead, _ = replica(journal, queues, clock, pid=100)
    survivor, _ = replica(journal, queues, clock, pid=200, gone=frozenset({100}))
    assert survivor.beat_once() == ()  # first look: no verdict on one sight
    clock.now += 2
    assert survivor.beat_once() == (dead.owner,)


def test_a_replica_of_this_host_name_that_beats_is_never_taken_for_gone(journal: Journal) -> None:
    queues, clock = ReleasedClaims(), Monotonic()
    other, _ = replica(journal, queues, clock, pid=100)  # another PID namespace: its pid means nothing here
    survivor, _ = replica(journal, queues, clock, pid=200, gone=frozenset({100}))
    for _ in range(10):
        other.beat_once()
        assert survivor.beat_once() == ()
        clock.now += 2


def test_no_verdict_spans_a_time_the_journal_could_not_be_read(journal: Journal,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    queues, clock = ReleasedClaims(), Monotonic()
    dead, _ = replica(journal, queues, clock, host="ctl-1")
    survivor, _ = replica(journal, queues, clock, host="ctl-2")
    survivor.beat_once()

    def down() -> None:
        raise ConnectionRefusedError("the journal is down")  # a database outage on cue

    with monkeypatch.context() as outage:
        outage.setattr(journal, "heartbeats", down)
        clock.now += 2 * TAKEOVER
        with pytest.raises(ConnectionRefusedError):
            survivor.beat_once()
    assert survivor.beat_once() == ()  # the watch starts again now
    clock.now += TAKEOVER
    assert survivor.beat_once() == (dead.owner,)


def test_a_replica_finding_itself_taken_over_drops_what_it_holds_and_joins_again(journal: Journal) -> None:
    queues, clock = ReleasedClaims(), Monotonic()
    paused, held = replica(journal, queues, clock, host="ctl-1")
    survivor, _ = replica(journal, queues, clock, host="ctl-2")
    claimed = Claimed("steps", "m1", "claim-1", {})
    paused.holding(claimed)
    held.hold(Held(claimed, 30.0))
    survivor.beat_once()
    clock.now += TAKEOVER
    first_name = paused.owner
    assert survivor.beat_once() == (first_name,)
    assert paused.beat_once() == ()
    assert paused.owner != first_name
    assert held.clear() == 0  # its held message went with its released claim
    assert {beat.owner for beat in journal.heartbeats()} == {survivor.owner, paused.owner}
    journal.hold_claim(first_name, HeldClaim("steps", "m2", "late"))  # recorded late under its old name
    assert survivor.beat_once() == (first_name,)
    assert queues.released == ["claim-1", "late"]
