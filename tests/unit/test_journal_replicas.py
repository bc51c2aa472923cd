"""Gateway replicas, their claims and their step leases in the journal, on every database."""

from __future__ import annotations

from datetime import timedelta

from vmha.journal import Heartbeat, HeldClaim, Journal, StepBusy, StepClaim, StepKey

from .journal_support import FakeClock, recorded_notification

LEASE = timedelta(seconds=60)


def test_beats_move_a_counter_and_forget_released_claims(journal: Journal) -> None:
    journal.join_replica("a", host="ctl-1", pid=11)
    first, second = HeldClaim("steps", "m1", "c1"), HeldClaim("steps", "m2", "c2")
    journal.hold_claim("a", first)
    journal.hold_claim("a", second)
    assert journal.beat("a", [first])
    assert journal.beat("a")
    assert journal.heartbeats() == (Heartbeat("a", 2, "ctl-1", 11),)
    assert journal.take_over("a") == (second,)


def test_a_newer_claim_on_the_same_message_is_not_forgotten_with_the_older(journal: Journal) -> None:
    journal.join_replica("a", host="ctl-1", pid=11)
    journal.join_replica("b", host="ctl-2", pid=12)
    journal.hold_claim("a", HeldClaim("steps", "m1", "old"))
    journal.hold_claim("b", HeldClaim("steps", "m1", "new"))  # a's claim expired, b claimed the message again
    journal.forget_claims("a", [HeldClaim("steps", "m1", "old")])
    assert journal.take_over("b") == (HeldClaim("steps", "m1", "new"),)
    assert journal.take_over("a") == ()


def test_a_take_over_ends_the_dead_replicas_leases_and_only_its_own(journal: Journal, clock: FakeClock) -> None:
    nid = recorded_notification(journal)
    journal.join_replica("a", host="ctl-1", pid=11)
    journal.join_replica("b", host="ctl-2", pid=12)
    dead_run = journal.begin_step(StepKey(nid, "evacuate_instance", "i-1"), LEASE, "a")
    live_run = journal.begin_step(StepKey(nid, "evacuate_instance", "i-2"), LEASE, "b")
    assert isinstance(dead_run, StepClaim) and isinstance(live_run, StepClaim)
    journal.take_over("a")
    assert not journal.beat("a")  # a finds it was taken over
    retaken = journal.begin_step(StepKey(nid, "evacuate_instance", "i-1"), LEASE, "b")
    assert isinstance(retaken, StepClaim) and retaken.attempt == 2
    assert isinstance(journal.begin_step(StepKey(nid, "evacuate_instance", "i-2"), LEASE, "c"), StepBusy)
    assert [beat.owner for beat in journal.heartbeats()] == ["b"]


def test_owners_without_a_replica_row_are_listed_as_gone(journal: Journal, clock: FakeClock) -> None:
    nid = recorded_notification(journal)
    journal.hold_claim("left", HeldClaim("notifications", "m1", "c1"))
    journal.begin_step(StepKey(nid, "fence_host"), LEASE, "vanished")
    journal.begin_step(StepKey(nid, "plan_evacuation"), LEASE, "expired")
    clock.advance(LEASE)  # both leases have run out: only the newer run of "vanished" is live
    journal.begin_step(StepKey(nid, "disable_compute_service"), LEASE, "vanished")
    assert set(journal.heartbeats()) == {Heartbeat("left", -1), Heartbeat("vanished", -1)}


def test_leaving_forgets_the_replica_and_its_claims(journal: Journal) -> None:
    journal.join_replica("a", host="ctl-1", pid=11)
    journal.hold_claim("a", HeldClaim("steps", "m1", "c1"))
    journal.leave_replica("a")
    assert journal.heartbeats() == ()
    assert not journal.beat("a")
