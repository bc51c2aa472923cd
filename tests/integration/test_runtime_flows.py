"""The runtime against the real Zaqar of the local cloud and a real SQLite journal, with test steps."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from tests.cloud.procs import wait_until
from tests.runtime_steps import FANNED_OUT, GATE_WAIT, instances
from vmha.contracts import StepMessage
from vmha.journal import NotificationStatus, StepStatus

from .runtime_support import CountingQueues, Place, running, wait_ended


def test_a_flow_with_fan_out_and_join_runs_every_step_once(place: Place) -> None:
    queues = CountingQueues(place.conn.session)
    services = place.services(place.settings(), queues)
    with running(services):
        nid = place.notify("flow:ok,fan,each,each2,join")
        detail = wait_ended(services.journal, nid)
    assert detail.notification.status is NotificationStatus.FINISHED
    branches = [str(instance) for instance in instances(StepMessage(uuid.UUID(nid), "fan", 1, ("fan",), 0,
                                                                    datetime.now(UTC)))]
    expected = Counter({("ok", "-"): 1, ("fan", "-"): 1, ("join", "-"): 1})
    expected.update({(step, branch): 1 for step in ("each", "each2") for branch in branches})
    assert place.effects.counts() == expected
    assert all(run.status is StepStatus.SUCCEEDED for run in detail.steps)
    started = [(event.step_id, event.instance_uuid) for event in detail.events if event.message.endswith("started")]
    assert sorted(started) == sorted((step, instance if instance != "-" else "") for step, instance in expected)
    assert place.dead_letters() == []
    # intake's first step, the branches together (not a request each), then the join: posted by each branch
    # that ended seeing every other ended, so more than once when the last branches end together (it runs once)
    first, fanned, *joins = queues.batches[place.queues["steps"]]
    assert (first, fanned) == (1, FANNED_OUT)
    assert 1 <= len(joins) <= FANNED_OUT and set(joins) == {1}


def test_retry_waits_its_delay_and_then_succeeds(place: Place) -> None:
    services = place.services(place.settings())
    with running(services):
        nid = place.notify("flow:flaky,ok")
        detail = wait_ended(services.journal, nid)
    assert detail.notification.status is NotificationStatus.FINISHED
    assert place.effects.counts() == Counter({("flaky", "-"): 3, ("ok", "-"): 1})
    [flaky] = [run for run in detail.steps if run.key.step_id == "flaky"]
    assert (flaky.status, flaky.attempts) == (StepStatus.SUCCEEDED, 3)
    events = [event for event in detail.events if event.step_id == "flaky"]
    failed = [event.at for event in events if "failed" in event.message]
    started = [event.at for event in events if event.message.endswith("started")]
    assert len(failed) == 2 and len(started) == 3
    for failure, restart in zip(failed, started[1:], strict=True):
        assert restart - failure >= timedelta(seconds=1.9), "the retry ran before its delay (2 s)"


@pytest.mark.parametrize(("flow", "effects", "posts"), [
    # Held: the next steps and the retries run under the claim of the step message intake posted.
    ("ok,flaky,ok2", {"ok": 1, "flaky": 3, "ok2": 1}, 1),
    # A 2 s retry of a step with a 49 s timeout (+ the 10 s lease margin) would outlast the 60 s claim.
    ("patient,ok", {"patient": 3, "ok": 1}, 3),
])
def test_a_follow_up_runs_under_its_claim_unless_it_could_outlast_it(
    place: Place, flow: str, effects: dict[str, int], posts: int
) -> None:
    queues = CountingQueues(place.conn.session)
    services = place.services(place.settings(), queues)
    with running(services):
        nid = place.notify(f"flow:{flow}")
        detail = wait_ended(services.journal, nid)
    assert detail.notification.status is NotificationStatus.FINISHED
    assert place.effects.counts() == Counter({(step, "-"): count for step, count in effects.items()})
    assert sum(queues.batches[place.queues["steps"]]) == posts
    assert wait_until(lambda: _queue_empty(place, "steps"), 30, 0.5), "a step message was not deleted"


def test_a_branch_waiting_for_another_to_end_runs_as_soon_as_one_ends(place: Place) -> None:
    # Each branch waits at the gate until the one past it has left; without a wake-up at each branch end
    # the last one would pass only after two waits of GATE_WAIT (40 s).
    services = place.services(place.settings(claim_ttl_seconds=120))
    with running(services):
        nid = place.notify("flow:fan,gate,leave,join")
        detail = wait_ended(services.journal, nid, timeout=GATE_WAIT / 2)
    assert detail.notification.status is NotificationStatus.FINISHED
    passages = [(step, instance) for step, instance, _ in place.effects.lines() if step in ("gate", "leave")]
    entered = [instance for step, instance in passages[::2]]
    assert passages == [(step, instance) for instance in entered for step in ("gate", "leave")], \
        "two branches were past the gate at once"
    assert sorted(entered) == sorted(str(instance) for instance in instances(StepMessage(
        uuid.UUID(nid), "fan", 1, ("fan",), 0, datetime.now(UTC))))


def test_bad_messages_and_failed_flows_go_to_the_dead_letter_queue(place: Place) -> None:
    services = place.services(place.settings())
    with running(services):
        place.post("notifications", "{not json")
        place.post("notifications", {"id": str(uuid.uuid4()), "type": "VM"})
        place.post("steps", {"step": "ok"})
        place.post("notifications", "[" * 200_000)
        failing = place.notify("flow:ok,fail,ok2")
        exploding = place.notify("flow:boom")
        assert wait_until(lambda: len(place.dead_letters()) >= 6, 90, 0.5), place.dead_letters()
        failed, exploded = wait_ended(services.journal, failing), wait_ended(services.journal, exploding)
    reasons = sorted(letter["reason"] for letter in place.dead_letters())
    assert any(reason.startswith("invalid notification: malformed JSON") for reason in reasons)
    bodies = [letter["body"] for letter in place.dead_letters()]
    assert "{not json" in bodies
    assert {"truncated": True, "size": 200_002, "start": '"' + "[" * 131_071} in bodies
    assert any(reason.startswith("invalid notification: ") and "required field is missing" in reason
               for reason in reasons)
    assert any(reason.startswith("invalid step message: ") for reason in reasons)
    assert (failed.notification.status, failed.notification.status_reason) == (NotificationStatus.FAILED,
                                                                               "the test step failed")
    assert exploded.notification.status is NotificationStatus.FAILED
    assert exploded.notification.status_reason == (
        "gave up after 4 attempts: raised RuntimeError: the test step exploded")
    by_notification = {letter["notification_id"]: letter for letter in place.dead_letters()}
    assert by_notification[failing]["body"]["step"] == "fail"
    assert by_notification[exploding]["queue"] == place.queues["steps"]
    assert place.effects.counts() == Counter({("ok", "-"): 1, ("fail", "-"): 1, ("boom", "-"): 4})


def test_a_redelivered_step_message_repeats_no_side_effect(place: Place) -> None:
    services = place.services(place.settings(workers=1))
    with running(services):
        nid = place.notify("flow:slow,ok,ok2")
        assert wait_until(lambda: ("slow-started", "-") in place.effects.counts(), 60, 0.2)
        detail = services.journal.get_notification(nid)
        assert detail is not None
        again = StepMessage(uuid.UUID(nid), "ok", 1, ("slow", "ok", "ok2"), 1, detail.notification.deadline)
        place.post("steps", again.to_dict())
        place.post("steps", again.to_dict())
        detail = wait_ended(services.journal, nid)
        assert wait_until(lambda: _queue_empty(place, "steps"), 60, 0.5)
    assert detail.notification.status is NotificationStatus.FINISHED
    assert place.effects.counts() == Counter({("slow-started", "-"): 1, ("slow", "-"): 1, ("ok", "-"): 1,
                                              ("ok2", "-"): 1})


def test_intake_outcomes_set_the_status_and_a_failed_branch_still_reaches_the_join(place: Place) -> None:
    services = place.services(place.settings())
    with running(services):
        ignored = place.notify("ignore:not for us")
        refused = place.notify("fail:bad segment")
        partial = place.notify("flow:fan,first_fails,join")
        details = [wait_ended(services.journal, nid) for nid in (ignored, refused, partial)]
    assert [(d.notification.status, d.notification.status_reason) for d in details[:2]] == [
        (NotificationStatus.IGNORED, "not for us"), (NotificationStatus.FAILED, "bad segment")]
    assert details[2].notification.status is NotificationStatus.FINISHED
    assert place.effects.counts()[("join", "-")] == 1
    [lost] = [item for item in details[2].instances if item.status.value == "failed"]
    assert lost.message == "the first instance cannot be recovered"


def _queue_empty(place: Place, kind: str) -> bool:
    stats = place.client.queue(place.queues[kind], auto_create=False).stats
    return int(stats["messages"]["total"]) == 0


def test_a_notification_delivered_twice_is_recovered_once(place: Place) -> None:
    services = place.services(place.settings())
    nid = place.notify("flow:ok,ok2")
    [message] = place.client.queue(place.queues["notifications"], auto_create=False).messages(echo=True)
    place.post("notifications", message.body)
    with running(services):
        detail = wait_ended(services.journal, nid)
        assert wait_until(lambda: _queue_empty(place, "notifications") and _queue_empty(place, "steps"), 60, 0.5)
    assert detail.notification.status is NotificationStatus.FINISHED
    assert place.effects.counts() == Counter({("ok", "-"): 1, ("ok2", "-"): 1})
