"""The runtime's pure decisions on fake time: backoff, Zaqar delay hops, outcome -> actions, joins."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.runtime_steps import QUICK_RETRY, Effects, make_table
from vmha.contracts import RetryPolicy, StepMessage
from vmha.journal import InstanceStatus, Journal, NotificationStatus, StepClaim, StepKey
from vmha.runtime import flow
from vmha.runtime.backoff import MAX_ZAQAR_DELAY, OUTAGE_PAUSE, backoff, hop, retry_delay, zaqar_delay
from vmha.runtime.table import flow_problems

from .journal_support import FakeClock, new_notification

POLICY = RetryPolicy(max_attempts=5, initial_delay_seconds=5, max_delay_seconds=60, multiplier=2.0,
                     recheck_interval_seconds=3)
FLOW = ("ok", "fan", "each", "each2", "join")


@pytest.fixture
def frame(clock: FakeClock, tmp_path: Path) -> flow.Frame:
    table = make_table(Effects(tmp_path / "effects"))
    return flow.Frame(table, clock(), clock() + timedelta(hours=1))


def message(frame: flow.Frame, position: int, instance: uuid.UUID | None = None, steps: tuple[str, ...] = FLOW,
            notification_id: uuid.UUID | None = None) -> StepMessage:
    first = StepMessage(notification_id or uuid.uuid4(), steps[0], 1, steps, 0, frame.ceiling)
    return frame.at(first, position, instance)


def test_backoff_grows_by_the_multiplier_up_to_the_cap() -> None:
    assert [backoff(POLICY, attempt) for attempt in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert backoff(POLICY, 1000) == 60
    assert retry_delay(POLICY, 1, 30) == 30
    assert retry_delay(POLICY, 1, 0.5) == 5


def test_zaqar_delays_are_whole_seconds_never_early() -> None:
    assert [zaqar_delay(wait) for wait in (0, 0.2, 1.0, 2.2, 2000)] == [0, 1, 1, 3, MAX_ZAQAR_DELAY]


def test_a_wait_longer_than_one_zaqar_delay_is_chained(clock: FakeClock) -> None:
    assert hop(clock(), 2.2) == (2.2, None)
    assert hop(clock(), MAX_ZAQAR_DELAY) == (MAX_ZAQAR_DELAY, None)
    assert hop(clock(), 2000) == (MAX_ZAQAR_DELAY, clock() + timedelta(seconds=2000))


def test_retry_reposts_the_next_attempt_then_gives_up(frame: flow.Frame) -> None:
    first = message(frame, 0)
    [post] = flow.retry(first, POLICY, 1, "busy", frame.now)
    assert isinstance(post, flow.Post)
    assert (post.message.attempt, post.delay, post.message.not_before) == (2, 5, None)
    last = flow.retry(replace(first, attempt=5), POLICY, 1, "busy", frame.now)
    assert last == [flow.DeadLetter("gave up after 5 attempts: busy"),
                    flow.SetStatus(NotificationStatus.FAILED, "gave up after 5 attempts: busy")]


def test_an_outage_retries_every_few_seconds_without_using_attempts_up_until_the_deadline(frame: flow.Frame) -> None:
    exhausted = replace(message(frame, 0), attempt=5)  # a further failure of its own would end it
    [post] = flow.retry(exhausted, POLICY, 0, "cannot reach OpenStack", frame.now, outage=True)
    assert isinstance(post, flow.Post)
    assert (post.message.attempt, post.delay) == (5, OUTAGE_PAUSE)  # not the policy's 60 s backoff either
    near_end = replace(exhausted, deadline=frame.now + timedelta(seconds=1))
    [letter, status] = flow.retry(near_end, POLICY, 0, "cannot reach OpenStack", frame.now, outage=True)
    assert isinstance(letter, flow.DeadLetter) and letter.reason.startswith("cannot reach OpenStack (a retry in")
    assert isinstance(status, flow.SetStatus) and status.status is NotificationStatus.FAILED


def test_retry_chains_long_waits_and_stops_at_the_deadline(frame: flow.Frame) -> None:
    patient = RetryPolicy(5, 900, 900, 1.0, 3)
    [post] = flow.retry(message(frame, 0), patient, 1800, "waiting", frame.now)
    assert isinstance(post, flow.Post)
    assert post.delay == MAX_ZAQAR_DELAY
    assert post.message.not_before == frame.now + timedelta(seconds=1800)
    near_end = replace(message(frame, 0), deadline=frame.now + timedelta(seconds=10))
    [letter, status] = flow.retry(near_end, POLICY, 30, "waiting", frame.now)
    assert isinstance(letter, flow.DeadLetter) and "would pass the step's deadline" in letter.reason
    assert isinstance(status, flow.SetStatus) and status.status is NotificationStatus.FAILED


def test_done_posts_the_next_step_and_the_end_finishes(frame: flow.Frame) -> None:
    [post] = flow.advance(message(frame, 0), frame, ())
    assert isinstance(post, flow.Post) and (post.message.step, post.message.attempt) == ("fan", 1)
    assert flow.advance(message(frame, 4), frame, ()) == [flow.SetStatus(NotificationStatus.FINISHED)]


def test_fan_out_posts_one_branch_per_instance_and_an_empty_one_goes_to_the_join(frame: flow.Frame) -> None:
    instances = (uuid.uuid4(), uuid.uuid4())
    posts = flow.advance(message(frame, 1), frame, instances)
    assert [(p.message.step, p.message.instance_uuid) for p in posts if isinstance(p, flow.Post)] == [
        ("each", instances[0]), ("each", instances[1])]
    [join] = flow.advance(message(frame, 1), frame, ())
    assert isinstance(join, flow.Post) and (join.message.step, join.message.instance_uuid) == ("join", None)


def test_a_branch_goes_on_for_its_instance_then_ends(frame: flow.Frame) -> None:
    instance = uuid.uuid4()
    [post] = flow.advance(message(frame, 2, instance), frame, ())
    assert isinstance(post, flow.Post) and (post.message.step, post.message.instance_uuid) == ("each2", instance)
    [end] = flow.advance(message(frame, 3, instance), frame, ())
    assert isinstance(end, flow.EndBranch)


def test_fail_in_a_branch_fails_only_that_instance(frame: flow.Frame) -> None:
    branch = message(frame, 2, uuid.uuid4())
    assert flow.fail(branch, "no") == [flow.DeadLetter("no"), flow.EndBranch(branch, "no")]


def test_the_join_runs_once_every_branch_has_ended(frame: flow.Frame, journal: Journal, clock: FakeClock) -> None:
    recorded = journal.record_notification(new_notification(), dedup_window=timedelta(0),
                                           terminal_within=timedelta(hours=1)).notification
    nid = uuid.UUID(recorded.id)
    a, b = uuid.uuid4(), uuid.uuid4()
    done(journal, StepKey(recorded.id, "fan"), {"planned": 2, flow.FAN_OUT_KEY: [str(a), str(b)]})
    done(journal, StepKey(recorded.id, "each2", str(a)), {})

    def after_a() -> list[flow.Action]:
        ended = message(frame, 3, a, notification_id=nid)
        state = journal.get_join(recorded.id, *flow.join_steps(ended, frame.table))
        assert state is not None
        return flow.joined(ended, frame, state)

    assert after_a() == []
    journal.record_instance_progress(recorded.id, str(b), InstanceStatus.FAILED, message="gone")
    [join] = after_a()
    assert isinstance(join, flow.Post) and (join.message.step, join.message.instance_uuid) == ("join", None)


def test_a_flow_ending_with_branches_fails_if_an_instance_failed(frame: flow.Frame, journal: Journal) -> None:
    recorded = journal.record_notification(new_notification(), dedup_window=timedelta(0),
                                           terminal_within=timedelta(hours=1)).notification
    a, b = uuid.uuid4(), uuid.uuid4()
    steps = ("fan", "each")
    done(journal, StepKey(recorded.id, "fan"), {flow.FAN_OUT_KEY: [str(a), str(b)]})
    done(journal, StepKey(recorded.id, "each", str(a)), {})
    journal.record_instance_progress(recorded.id, str(b), InstanceStatus.FAILED, message="gone")
    ended = message(frame, 1, a, steps, uuid.UUID(recorded.id))
    assert flow.join_steps(ended, frame.table) == ("fan", "each")
    state = journal.get_join(recorded.id, "fan", "each")
    assert state is not None
    [status] = flow.joined(ended, frame, state)
    assert status == flow.SetStatus(NotificationStatus.FAILED, "1 of 2 instances failed")


def test_flows_are_checked_against_the_table(frame: flow.Frame) -> None:
    assert flow_problems(("ok", "nope"), frame.table) == ["unknown steps nope"]
    assert "nothing fans out to it" in flow_problems(("each",), frame.table)[0]
    assert flow_problems(FLOW, frame.table) == []
    assert frame.table["flaky"].retry is QUICK_RETRY


def done(journal: Journal, key: StepKey, result: dict[str, object]) -> None:
    claim = journal.begin_step(key, timedelta(minutes=1))
    assert isinstance(claim, StepClaim)
    journal.finish_step(claim, result)
