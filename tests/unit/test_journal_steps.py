"""Step runs (write-ahead idempotency with leases), instance progress, progress events, detail view."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from vmha.journal import (
    InstanceStatus,
    Journal,
    ProgressNote,
    StaleStepClaimError,
    StepBusy,
    StepClaim,
    StepDone,
    StepKey,
    StepStart,
    StepStatus,
    UnknownNotificationError,
    open_journal,
)

from .journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification

LEASE = timedelta(minutes=2)
INSTANCE = "6f1b7a52-3f0e-4d59-a1b4-0a5d5c2f8e11"


@pytest.fixture
def notification_id(journal: Journal) -> str:
    recorded = journal.record_notification(
        new_notification(), dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN
    )
    return recorded.notification.id


def _claim(start: StepStart) -> StepClaim:
    assert isinstance(start, StepClaim), start
    return start


def test_first_begin_claims_the_step(journal: Journal, clock: FakeClock, notification_id: str) -> None:
    key = StepKey(notification_id, "evacuate_instance", INSTANCE)

    claim = _claim(journal.begin_step(key, LEASE))

    assert (claim.key, claim.attempt, claim.lease_expires_at) == (key, 1, clock.now + LEASE)


def test_a_live_lease_is_busy_elsewhere(journal: Journal, clock: FakeClock, notification_id: str) -> None:
    key = StepKey(notification_id, "fence_host")
    journal.begin_step(key, LEASE)
    clock.advance(LEASE - timedelta(seconds=1))

    busy = journal.begin_step(key, LEASE)

    assert isinstance(busy, StepBusy)
    assert (busy.record.status, busy.record.attempts) == (StepStatus.IN_PROGRESS, 1)


def test_a_finished_step_returns_its_stored_result(journal: Journal, clock: FakeClock, notification_id: str) -> None:
    key = StepKey(notification_id, "evacuate_instance", INSTANCE)
    claim = _claim(journal.begin_step(key, LEASE))
    journal.finish_step(claim, {"dest_host": "compute-2"})
    clock.advance(LEASE * 10)

    redelivered = journal.begin_step(key, LEASE)

    assert isinstance(redelivered, StepDone)
    assert redelivered.record.status is StepStatus.SUCCEEDED
    assert redelivered.record.result == {"dest_host": "compute-2"}
    assert redelivered.record.attempts == 1


def test_a_skipped_step_counts_as_done(journal: Journal, notification_id: str) -> None:
    key = StepKey(notification_id, "plan_evacuation")
    journal.skip_step(_claim(journal.begin_step(key, LEASE)), {"reason": "no instance to evacuate"})

    again = journal.begin_step(key, LEASE)

    assert isinstance(again, StepDone)
    assert (again.record.status, again.record.result) == (StepStatus.SKIPPED, {"reason": "no instance to evacuate"})


def test_an_expired_lease_is_taken_over_and_fences_the_old_claim(
    journal: Journal, clock: FakeClock, notification_id: str
) -> None:
    key = StepKey(notification_id, "disable_compute_service")
    stale = _claim(journal.begin_step(key, LEASE))
    clock.advance(LEASE)

    takeover = _claim(journal.begin_step(key, LEASE))

    assert (takeover.attempt, takeover.lease_expires_at) == (2, clock.now + LEASE)
    with pytest.raises(StaleStepClaimError):
        journal.finish_step(stale, {"from": "the slow worker"})
    finished = journal.finish_step(takeover, {"from": "the takeover"})
    assert (finished.result, finished.attempts, finished.finished_at) == ({"from": "the takeover"}, 2, clock.now)


def test_a_failed_attempt_keeps_its_error_and_may_be_retried(
    journal: Journal, clock: FakeClock, notification_id: str
) -> None:
    key = StepKey(notification_id, "evacuate_instance", INSTANCE)
    failed = journal.fail_step(_claim(journal.begin_step(key, LEASE)), "Nova answered 409")

    retry = _claim(journal.begin_step(key, LEASE))

    assert (failed.status, failed.error, failed.finished_at) == (StepStatus.FAILED, "Nova answered 409", clock.now)
    assert retry.attempt == 2
    detail = journal.get_notification(notification_id)
    assert detail is not None
    assert [(s.status, s.error, s.finished_at) for s in detail.steps] == [
        (StepStatus.IN_PROGRESS, "Nova answered 409", None)
    ]


def test_an_ended_claim_cannot_end_the_step_again(journal: Journal, notification_id: str) -> None:
    claim = _claim(journal.begin_step(StepKey(notification_id, "fence_host"), LEASE))
    journal.finish_step(claim, {})

    with pytest.raises(StaleStepClaimError):
        journal.fail_step(claim, "late failure")


def test_a_note_is_written_with_the_start_or_end_it_comes_with_and_only_then(
    journal: Journal, clock: FakeClock, notification_id: str
) -> None:
    key = StepKey(notification_id, "evacuate_instance", INSTANCE)
    claim = _claim(journal.begin_step(key, LEASE, note=ProgressNote("attempt 1 started", 0.0)))
    assert isinstance(journal.begin_step(key, LEASE, note=ProgressNote("busy: never written", 0.0)), StepBusy)
    journal.fail_step(claim, "Nova answered 409", note=ProgressNote("attempt 1 failed", 1.0))
    clock.advance(timedelta(seconds=1))
    retry = _claim(journal.begin_step(key, LEASE, note=ProgressNote("attempt 2 started", 0.0)))
    journal.finish_step(retry, {}, note=ProgressNote("succeeded", 1.0))
    assert isinstance(journal.begin_step(key, LEASE, note=ProgressNote("done: never written", 0.0)), StepDone)
    with pytest.raises(StaleStepClaimError):
        journal.skip_step(retry, {}, note=ProgressNote("stale: never written", 1.0))

    detail = journal.get_notification(notification_id)
    assert detail is not None
    events = [(event.message, event.progress, event.at, event.step_id, event.instance_uuid) for event in detail.events]
    assert events == [
        ("attempt 1 started", 0.0, clock.now - timedelta(seconds=1), key.step_id, INSTANCE),
        ("attempt 1 failed", 1.0, clock.now - timedelta(seconds=1), key.step_id, INSTANCE),
        ("attempt 2 started", 0.0, clock.now, key.step_id, INSTANCE),
        ("succeeded", 1.0, clock.now, key.step_id, INSTANCE),
    ]
    assert detail.steps[0].started_at == clock.now


def test_a_note_that_cannot_be_written_leaves_the_step_as_it_was(journal: Journal, notification_id: str) -> None:
    key = StepKey(notification_id, "fence_host")
    with pytest.raises(ValueError):
        journal.begin_step(key, LEASE, note=ProgressNote("out of range", 1.5))

    claim = _claim(journal.begin_step(key, LEASE))
    assert claim.attempt == 1


def test_each_instance_is_its_own_step_run(journal: Journal, notification_id: str) -> None:
    first = _claim(journal.begin_step(StepKey(notification_id, "evacuate_instance", INSTANCE), LEASE))
    second = journal.begin_step(StepKey(notification_id, "evacuate_instance", "another-instance"), LEASE)

    assert isinstance(second, StepClaim)
    assert first.key != second.key


def test_replicas_racing_on_one_step_claim_it_once(db_url: str, clock: FakeClock, notification_id: str) -> None:
    key = StepKey(notification_id, "evacuate_instance", INSTANCE)
    replicas = 6
    barrier = threading.Barrier(replicas)
    starts: list[StepStart] = []

    def replica() -> None:
        with open_journal(db_url, clock) as journal:
            barrier.wait()
            starts.append(journal.begin_step(key, LEASE))

    threads = [threading.Thread(target=replica) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(type(start).__name__ for start in starts) == ["StepBusy"] * 5 + ["StepClaim"]


def test_steps_of_an_unknown_notification_are_refused(journal: Journal) -> None:
    with pytest.raises(UnknownNotificationError):
        journal.begin_step(StepKey("no-such-id", "fence_host"), LEASE)


def test_instance_progress_is_created_then_updated(journal: Journal, clock: FakeClock, notification_id: str) -> None:
    started = clock.now
    journal.record_instance_progress(notification_id, INSTANCE, InstanceStatus.PENDING, source_host="compute-1")
    clock.advance(timedelta(seconds=30))
    journal.record_instance_progress(notification_id, INSTANCE, InstanceStatus.ONGOING, message="evacuating")
    clock.advance(timedelta(seconds=30))

    done = journal.record_instance_progress(notification_id, INSTANCE, InstanceStatus.SUCCEEDED, dest_host="compute-2")

    assert (done.status, done.source_host, done.dest_host, done.message) == (
        InstanceStatus.SUCCEEDED,
        "compute-1",
        "compute-2",
        None,
    )
    assert (done.started_at, done.updated_at, done.finished_at) == (started, clock.now, clock.now)


def test_instance_progress_comes_with_its_note_or_not_at_all_and_is_counted_by_status(
    journal: Journal, notification_id: str
) -> None:
    with pytest.raises(ValueError):
        journal.record_instance_progress(notification_id, INSTANCE, InstanceStatus.ONGOING,
                                         note=ProgressNote("out of range", 1.5), step_id="evacuate_instance")
    assert journal.count_instances(notification_id, InstanceStatus.ONGOING) == 0
    journal.record_instance_progress(notification_id, INSTANCE, InstanceStatus.ONGOING, message="slot taken",
                                     note=ProgressNote("slot taken", 0.5), step_id="evacuate_instance")
    journal.record_instance_progress(notification_id, "another-instance", InstanceStatus.PENDING)

    detail = journal.get_notification(notification_id)
    assert detail is not None
    assert [(event.message, event.progress, event.step_id, event.instance_uuid) for event in detail.events] == [
        ("slot taken", 0.5, "evacuate_instance", INSTANCE)]
    assert [journal.count_instances(notification_id, status) for status in (
        InstanceStatus.ONGOING, InstanceStatus.PENDING, InstanceStatus.SUCCEEDED)] == [1, 1, 0]
    assert journal.count_instances("no-such-id", InstanceStatus.ONGOING) == 0


def test_instance_progress_of_an_unknown_notification_is_refused(journal: Journal) -> None:
    with pytest.raises(UnknownNotificationError):
        journal.record_instance_progress("no-such-id", INSTANCE, InstanceStatus.PENDING)


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_progress_events_stay_within_zero_and_one(journal: Journal, notification_id: str, fraction: float) -> None:
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        journal.add_progress_event(notification_id, "fence_host", "halfway", fraction)


def test_detail_gathers_steps_instances_and_events_in_order(
    journal: Journal, clock: FakeClock, notification_id: str
) -> None:
    journal.finish_step(_claim(journal.begin_step(StepKey(notification_id, "fence_host"), LEASE)), {})
    clock.advance(timedelta(seconds=1))
    journal.begin_step(StepKey(notification_id, "evacuate_instance", INSTANCE), LEASE)
    journal.record_instance_progress(notification_id, INSTANCE, InstanceStatus.ONGOING, source_host="compute-1")
    journal.add_progress_event(notification_id, "fence_host", "host powered off", 1.0)
    journal.add_progress_event(notification_id, "evacuate_instance", "evacuation requested", 0.5, INSTANCE)

    detail = journal.get_notification(notification_id)

    assert detail is not None
    assert [(s.key.step_id, s.status) for s in detail.steps] == [
        ("fence_host", StepStatus.SUCCEEDED),
        ("evacuate_instance", StepStatus.IN_PROGRESS),
    ]
    assert [(i.instance_uuid, i.status) for i in detail.instances] == [(INSTANCE, InstanceStatus.ONGOING)]
    assert [(e.step_id, e.instance_uuid, e.message, e.progress, e.at) for e in detail.events] == [
        ("fence_host", "", "host powered off", 1.0, clock.now),
        ("evacuate_instance", INSTANCE, "evacuation requested", 0.5, clock.now),
    ]


def test_a_branch_holds_the_recovery_wide_runs_and_its_own_server_only(
    journal: Journal, clock: FakeClock, notification_id: str
) -> None:
    other = "0c0ffee0-3f0e-4d59-a1b4-0a5d5c2f8e11"
    journal.finish_step(_claim(journal.begin_step(StepKey(notification_id, "plan_evacuation"), LEASE)), {"n": 2})
    for uuid in (INSTANCE, other):
        clock.advance(timedelta(seconds=1))
        journal.finish_step(_claim(journal.begin_step(StepKey(notification_id, "evacuate_instance", uuid), LEASE)), {})
        journal.record_instance_progress(notification_id, uuid, InstanceStatus.ONGOING, source_host="compute-1")
    journal.add_progress_event(notification_id, "plan_evacuation", "planned", 1.0)

    branch = journal.get_branch(notification_id, INSTANCE)

    whole = journal.get_notification(notification_id, with_events=False)
    assert branch is not None and whole is not None
    assert branch.notification == whole.notification
    assert [(s.key.step_id, s.key.instance_uuid, s.result) for s in branch.steps] == [
        ("plan_evacuation", "", {"n": 2}), ("evacuate_instance", INSTANCE, {})]
    assert branch.instances == tuple(item for item in whole.instances if item.instance_uuid == INSTANCE)
    assert branch.events == ()
    assert journal.get_branch("6f1b7a52-0000-4d59-a1b4-0a5d5c2f8e11", INSTANCE) is None


def test_a_join_reads_the_fan_out_the_ended_branches_and_the_failed_servers(
    journal: Journal, notification_id: str
) -> None:
    ended, skipped, running, failed = (f"{n}f1b7a52-3f0e-4d59-a1b4-0a5d5c2f8e11" for n in range(4))
    fan_out = {"fan_out": [ended, skipped, running, failed]}
    before = journal.get_join(notification_id, "plan_evacuation", "confirm")
    assert before is not None
    assert (before.fan_out_result, before.done, before.failed) == (None, frozenset(), frozenset())
    journal.finish_step(_claim(journal.begin_step(StepKey(notification_id, "plan_evacuation"), LEASE)), fan_out)
    journal.finish_step(_claim(journal.begin_step(StepKey(notification_id, "confirm", ended), LEASE)), {})
    journal.skip_step(_claim(journal.begin_step(StepKey(notification_id, "confirm", skipped), LEASE)), {})
    journal.finish_step(_claim(journal.begin_step(StepKey(notification_id, "evacuate", running), LEASE)), {})
    journal.begin_step(StepKey(notification_id, "confirm", running), LEASE)
    journal.fail_step(_claim(journal.begin_step(StepKey(notification_id, "confirm", failed), LEASE)), "gone")
    journal.record_instance_progress(notification_id, failed, InstanceStatus.FAILED, message="gone")
    journal.record_instance_progress(notification_id, running, InstanceStatus.ONGOING)

    state = journal.get_join(notification_id, "plan_evacuation", "confirm")

    assert state is not None
    assert state.notification == journal.get_notification_record(notification_id)
    assert state.fan_out_result == fan_out
    assert (state.done, state.failed) == (frozenset({ended, skipped}), frozenset({failed}))
    assert journal.get_join("6f1b7a52-0000-4d59-a1b4-0a5d5c2f8e11", "plan_evacuation", "confirm") is None
