"""Runtime parts that need no cloud: the sweeper on fake time, wake-ups, the CLI's errors."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

import openstack
import pytest
import sqlalchemy.exc

from vmha import cli
from vmha.gateway import warm_up
from vmha.journal import Journal, NotificationStatus
from vmha.outcomes import Outcome, Retry
from vmha.runtime.consumer import sweep
from vmha.runtime.execute import execute
from vmha.runtime.held import Held, HeldMessages
from vmha.runtime.queues import Claimed
from vmha.runtime.wakeup import Wakeup

from .journal_support import FakeClock, new_notification


def test_sweeper_fails_only_notifications_past_their_deadline(journal: Journal, clock: FakeClock) -> None:
    late, finished, fresh = (journal.record_notification(new_notification(f"h{n}"), dedup_window=timedelta(0),
                                                         terminal_within=timedelta(minutes=minutes)).notification
                             for n, minutes in ((1, 5), (2, 5), (3, 60)))
    journal.set_status(finished.id, NotificationStatus.FINISHED)
    assert sweep(journal, 300) == 0
    clock.advance(timedelta(minutes=6))
    assert sweep(journal, 300) == 1
    assert sweep(journal, 300) == 0
    statuses = {record.id: record.status for record in journal.list_notifications()}
    assert statuses == {late.id: NotificationStatus.FAILED, finished.id: NotificationStatus.FINISHED,
                        fresh.id: NotificationStatus.NEW}
    detail = journal.get_notification(late.id)
    assert detail is not None and detail.notification.status_reason == "not ended within the ceiling of 300 s"


def test_a_wakeup_between_looking_and_waiting_is_not_lost() -> None:
    wakeup = Wakeup()
    seen = wakeup.generation
    wakeup.wake()
    waiter = threading.Thread(target=wakeup.wait, args=(seen, 3600))
    waiter.start()
    waiter.join(30)
    assert not waiter.is_alive()


def test_each_wake_up_for_a_posted_step_puts_the_steps_queue_first_for_one_look() -> None:
    wakeup = Wakeup()
    wakeup.wake()
    assert wakeup.steps_first() is False  # a push or a poll: new failures first
    wakeup.wake(steps=True)
    wakeup.wake(steps=True)
    assert [wakeup.steps_first() for _ in range(3)] == [True, True, False]


def test_a_due_delay_wakes_a_waiter() -> None:
    wakeup = Wakeup()
    seen = wakeup.generation
    wakeup.wake_after(0)
    waiter = threading.Thread(target=wakeup.wait, args=(seen, 3600))
    waiter.start()
    waiter.join(30)
    assert not waiter.is_alive()


@pytest.mark.parametrize("wake", ["wake", "wake_after"])
def test_one_wake_up_wakes_one_idle_consumer_and_a_stop_wakes_them_all(wake: str) -> None:
    wakeup = Wakeup()
    seen = wakeup.generation
    waiters = [threading.Thread(target=wakeup.wait, args=(seen, 3600)) for _ in range(3)]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.2)  # all three are waiting on the condition (a wake-up before that would wake each one)
    wakeup.wake() if wake == "wake" else wakeup.wake_after(0.1)
    for _ in range(300):
        if sum(not waiter.is_alive() for waiter in waiters):
            break
        time.sleep(0.01)
    time.sleep(0.3)  # time enough for a second waiter to wake, if it was notified
    assert sum(not waiter.is_alive() for waiter in waiters) == 1
    wakeup.wake_all()
    for waiter in waiters:
        waiter.join(30)
    assert not any(waiter.is_alive() for waiter in waiters)


def test_idle_consumers_poll_once_per_interval_together() -> None:
    wakeup, stop = Wakeup(), threading.Event()
    polls: list[float] = []

    def consume() -> None:
        while not stop.is_set():
            if wakeup.wait(wakeup.generation, 0.3):
                polls.append(time.monotonic())

    consumers = [threading.Thread(target=consume) for _ in range(4)]
    for consumer in consumers:
        consumer.start()
    time.sleep(1.05)
    stop.set()
    wakeup.wake_all()
    for consumer in consumers:
        consumer.join(30)
    assert 2 <= len(polls) - 4 <= 4  # the stop woke all four; each polling on its own: about 12 polls


def test_looks_at_held_messages_only_do_not_put_off_the_poll() -> None:
    wakeup = Wakeup()
    seen = wakeup.generation
    wakeup.wake_after(0, held=True)
    assert wakeup.wait(seen, 0.3) is False  # a held message's wake-up: no Zaqar request
    started, asks_zaqar = time.monotonic(), False
    while not asks_zaqar and time.monotonic() - started < 2:
        wakeup.wake_after(0.05, held=True)  # held messages falling due all the time
        asks_zaqar = wakeup.wait(seen, 0.3, polled=False)
    assert asks_zaqar and time.monotonic() - started < 1


def _held(name: str, delay: float, waiter: str | None = None) -> Held:
    return Held(Claimed("steps", name, "claim", {"name": name}, time.monotonic()), delay, waiter)


def test_a_branch_end_runs_the_first_waiter_of_its_notification_and_no_other() -> None:
    held = HeldMessages(Wakeup())
    for name, delay, waiter in [("slot-2", 60, "n1"), ("slot-1", 50, "n1"), ("other", 40, "n2"),
                                ("recheck", 30, None)]:
        held.hold(_held(name, delay, waiter))
    assert held.pop_due() is None
    assert held.branch_ended("n1")
    first = held.pop_due()
    assert first is not None and first.id == "slot-1"
    assert held.pop_due() is None, "one branch end runs one waiter"
    assert held.branch_ended("n1")
    second = held.pop_due()
    assert second is not None and second.id == "slot-2"
    assert not held.branch_ended("n1"), "no waiter of n1 is left"
    assert held.branch_ended("n2")
    other = held.pop_due()
    assert other is not None and other.id == "other"
    assert held.pop_due() is None, "a message that waits for no branch is not run early"


def test_held_messages_fall_due_in_order_of_their_delays() -> None:
    held = HeldMessages(Wakeup())
    held.hold(_held("later", 0.2))
    held.hold(_held("sooner", 0.0))
    now = held.pop_due()
    assert now is not None and now.id == "sooner"
    assert held.pop_due() is None
    time.sleep(0.25)
    later = held.pop_due()
    assert later is not None and later.id == "later"


def test_gateway_reports_an_unloadable_step_table_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["gateway", "--steps", "tests.no_such_module:STEPS"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("vmha: cannot import tests.no_such_module") and "Traceback" not in error
    assert cli.main(["gateway", "--steps", "tests.runtime_steps:NOPE"]) == 2
    assert "has no attribute NOPE" in capsys.readouterr().err


def test_the_warm_up_request_to_an_unreachable_nova_is_only_logged(caplog: pytest.LogCaptureFixture) -> None:
    cloud = openstack.connect(auth_type="password", auth_url="http://127.0.0.1:9/v3", username="u", password="p",
                              project_name="p", user_domain_name="Default", project_domain_name="Default",
                              load_yaml_config=False, load_envvars=False)
    with caplog.at_level(logging.WARNING, logger="vmha.gateway"):
        warm_up(cloud)
    ours = [record.getMessage() for record in caplog.records if record.name == "vmha.gateway"]
    assert ours == ["Nova did not answer the warm-up request"]


def test_a_step_raising_an_outage_is_retried_as_one_and_a_bug_as_a_counted_attempt() -> None:
    def journal_down() -> Outcome:
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    def bug() -> Outcome:
        raise KeyError("flavor")

    down = execute(journal_down, 5, "test", {})
    assert isinstance(down, Retry) and down.outage and down.reason.startswith("a dependency is down: OperationalError")
    assert execute(bug, 5, "test", {}) == Retry("raised KeyError: 'flavor'", 0)
