"""Notifications in the journal: exactly-once recording, duplicate window, status machine, listing."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest

from vmha.journal import (
    TERMINAL,
    TRANSITIONS,
    IllegalTransitionError,
    Journal,
    NewNotification,
    NotificationFilter,
    NotificationStatus,
    Recorded,
    RecordOutcome,
    UnknownNotificationError,
    open_journal,
)

from .journal_support import DEDUP_WINDOW, TERMINAL_WITHIN, FakeClock, new_notification

S = NotificationStatus


def _record(journal: Journal, notification: NewNotification) -> Recorded:
    return journal.record_notification(notification, dedup_window=DEDUP_WINDOW, terminal_within=TERMINAL_WITHIN)


def _race(db_url: str, clock: FakeClock, work: Callable[[Journal, int], Recorded]) -> list[Recorded]:
    """Run `work` at the same moment in several threads, each a replica with its own journal."""
    replicas = 6
    barrier = threading.Barrier(replicas)
    results: list[Recorded] = []
    errors: list[BaseException] = []

    def replica(index: int) -> None:
        with open_journal(db_url, clock) as journal:
            barrier.wait()
            try:
                results.append(work(journal, index))
            except BaseException as error:  # collected for the assertion below
                errors.append(error)

    threads = [threading.Thread(target=replica, args=(index,)) for index in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


def test_first_record_creates_a_new_notification(journal: Journal, clock: FakeClock) -> None:
    sent = new_notification(segment="segment-a")

    recorded = _record(journal, sent)

    assert recorded.outcome is RecordOutcome.CREATED
    stored = recorded.notification
    assert (stored.id, stored.hostname, stored.type, stored.payload) == (
        sent.id,
        sent.hostname,
        sent.type,
        sent.payload,
    )
    assert (stored.status, stored.segment) == (S.NEW, "segment-a")
    assert stored.created_at == clock.now
    assert stored.deadline == clock.now + TERMINAL_WITHIN


def test_the_record_alone_and_the_detail_without_events(journal: Journal, clock: FakeClock) -> None:
    stored = _record(journal, new_notification(segment="segment-a")).notification
    journal.add_progress_event(stored.id, "intake", "flow a, b", 1.0)
    journal.set_status(stored.id, S.RUNNING)
    detail = journal.get_notification(stored.id)
    assert detail is not None and detail.events
    assert journal.get_notification_record(stored.id) == detail.notification
    assert journal.get_notification_record(str(uuid.uuid4())) is None
    assert journal.get_notification(stored.id, with_events=False) == dataclasses.replace(detail, events=())


def test_a_known_id_is_never_recorded_twice(journal: Journal, clock: FakeClock) -> None:
    first = _record(journal, new_notification())
    clock.advance(timedelta(days=30))
    same_id = dataclasses.replace(new_notification(payload={"event": "STARTED"}), id=first.notification.id)

    again = _record(journal, same_id)

    assert again.outcome is RecordOutcome.ALREADY_KNOWN
    assert again.notification == first.notification


def test_replicas_racing_on_one_id_create_it_once(db_url: str, clock: FakeClock, journal: Journal) -> None:
    sent = new_notification()

    results = _race(db_url, clock, lambda replica, _index: _record(replica, sent))

    outcomes = sorted(result.outcome for result in results)
    assert outcomes == [RecordOutcome.ALREADY_KNOWN] * 5 + [RecordOutcome.CREATED]
    assert len(journal.list_notifications()) == 1


def test_replicas_racing_on_one_failure_accept_one_report(db_url: str, clock: FakeClock) -> None:
    reports = [new_notification() for _ in range(6)]

    results = _race(db_url, clock, lambda replica, index: _record(replica, reports[index]))

    created = [result for result in results if result.outcome is RecordOutcome.CREATED]
    duplicates = [result for result in results if result.outcome is RecordOutcome.DUPLICATE]
    assert len(created) == 1
    assert len(duplicates) == 5
    assert {result.duplicate_of for result in duplicates} == {created[0].notification.id}


def test_same_failure_inside_the_window_is_recorded_as_ignored_duplicate(journal: Journal, clock: FakeClock) -> None:
    original = _record(journal, new_notification())
    clock.advance(DEDUP_WINDOW - timedelta(seconds=1))

    twin = _record(journal, new_notification())

    assert twin.outcome is RecordOutcome.DUPLICATE
    assert twin.duplicate_of == original.notification.id
    assert twin.notification.status is S.IGNORED
    assert twin.notification.status_reason == f"duplicate of notification {original.notification.id}"
    assert _record(journal, dataclasses.replace(new_notification(), id=twin.notification.id)).outcome is (
        RecordOutcome.ALREADY_KNOWN
    )


def test_same_failure_after_the_window_is_a_new_notification(journal: Journal, clock: FakeClock) -> None:
    _record(journal, new_notification())
    clock.advance(DEDUP_WINDOW)

    later = _record(journal, new_notification())
    clock.advance(DEDUP_WINDOW - timedelta(seconds=1))
    twin_of_later = _record(journal, new_notification())

    assert later.outcome is RecordOutcome.CREATED
    assert twin_of_later.duplicate_of == later.notification.id


@pytest.mark.parametrize(
    "different",
    [
        new_notification("compute-2"),
        new_notification(notification_type="PROCESS"),
        new_notification(payload={"event": "STOPPED", "host_status": "UNKNOWN"}),
    ],
    ids=["host", "type", "payload"],
)
def test_reports_differing_in_host_type_or_payload_are_not_duplicates(
    journal: Journal, different: NewNotification
) -> None:
    _record(journal, new_notification())

    assert _record(journal, different).outcome is RecordOutcome.CREATED


def test_find_recent_duplicate_answers_inside_the_window_only(journal: Journal, clock: FakeClock) -> None:
    sent = new_notification()
    original = _record(journal, sent)
    reordered_payload = dict(reversed(list(sent.payload.items())))

    def lookup() -> str | None:
        found = journal.find_recent_duplicate(sent.type, sent.hostname, reordered_payload, DEDUP_WINDOW)
        return None if found is None else found.id

    clock.advance(DEDUP_WINDOW - timedelta(seconds=1))
    assert lookup() == original.notification.id
    assert journal.find_recent_duplicate(sent.type, "compute-2", sent.payload, DEDUP_WINDOW) is None
    clock.advance(timedelta(seconds=1))
    assert lookup() is None


def test_the_state_machine_has_masakaris_terminal_states() -> None:
    assert set(TRANSITIONS) == set(NotificationStatus)
    assert {S.FINISHED, S.IGNORED, S.FAILED} == TERMINAL
    assert all(not TRANSITIONS[status] for status in TERMINAL)


def test_legal_transitions_update_status_reason_and_time(journal: Journal, clock: FakeClock) -> None:
    notification_id = _record(journal, new_notification()).notification.id
    path = [(S.RUNNING, None), (S.ERROR, "evacuation failed"), (S.RUNNING, None), (S.FINISHED, None)]

    for status, reason in path:
        clock.advance(timedelta(seconds=5))
        record = journal.set_status(notification_id, status, reason)
        assert (record.status, record.status_reason, record.updated_at) == (status, reason, clock.now)


@pytest.mark.parametrize(
    ("path", "illegal"),
    [((), S.ERROR), ((S.RUNNING, S.FINISHED), S.RUNNING), ((S.IGNORED,), S.FAILED), ((S.RUNNING, S.ERROR), S.NEW)],
)
def test_illegal_transitions_are_rejected_and_change_nothing(journal: Journal, path: tuple[S, ...], illegal: S) -> None:
    notification_id = _record(journal, new_notification()).notification.id
    for status in path:
        journal.set_status(notification_id, status)
    current = path[-1] if path else S.NEW

    with pytest.raises(IllegalTransitionError) as raised:
        journal.set_status(notification_id, illegal, "should not stick")

    assert (raised.value.current, raised.value.requested) == (current, illegal)
    detail = journal.get_notification(notification_id)
    assert detail is not None
    assert (detail.notification.status, detail.notification.status_reason) == (current, None)


def test_setting_the_current_status_again_is_a_no_op(journal: Journal, clock: FakeClock) -> None:
    notification_id = _record(journal, new_notification()).notification.id
    running = journal.set_status(notification_id, S.RUNNING, "picked up")
    clock.advance(timedelta(seconds=5))

    assert journal.set_status(notification_id, S.RUNNING, "redelivered") == running


def test_status_of_an_unknown_notification_cannot_be_set(journal: Journal) -> None:
    with pytest.raises(UnknownNotificationError):
        journal.set_status("no-such-id", S.RUNNING)
    assert journal.get_notification("no-such-id") is None


def _seed(journal: Journal, clock: FakeClock) -> list[str]:
    """Five notifications a minute apart: compute-1/2 alternating, the third one finished."""
    ids = []
    for index in range(5):
        sent = new_notification(f"compute-{index % 2 + 1}", payload={"n": str(index)}, segment=f"seg-{index % 2}")
        ids.append(_record(journal, sent).notification.id)
        clock.advance(timedelta(minutes=1))
    journal.set_status(ids[2], S.FINISHED)
    return ids


def test_list_pages_newest_first_with_a_marker(journal: Journal, clock: FakeClock) -> None:
    ids = _seed(journal, clock)

    first = journal.list_notifications(limit=2)
    second = journal.list_notifications(limit=2, marker=first[-1].id)
    last = journal.list_notifications(limit=2, marker=second[-1].id)

    assert [n.id for n in first + second + last] == ids[::-1]
    assert journal.list_notifications(limit=2, marker=last[-1].id) == ()


def test_list_pages_do_not_skip_notifications_created_at_the_same_instant(journal: Journal) -> None:
    ids = {_record(journal, new_notification(payload={"n": str(index)})).notification.id for index in range(5)}

    seen: list[str] = []
    marker = None
    while page := journal.list_notifications(limit=2, marker=marker):
        seen.extend(n.id for n in page)
        marker = page[-1].id

    assert sorted(seen) == sorted(ids)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (NotificationFilter(statuses=frozenset({S.FINISHED})), [2]),
        (NotificationFilter(statuses=frozenset({S.NEW}), hostname="compute-1"), [4, 0]),
        (NotificationFilter(hostname="compute-2"), [3, 1]),
        (NotificationFilter(segment="seg-1"), [3, 1]),
        (NotificationFilter(type="VM"), []),
        (NotificationFilter(type="COMPUTE_HOST", statuses=frozenset({S.NEW, S.FINISHED})), [4, 3, 2, 1, 0]),
    ],
)
def test_list_filters(journal: Journal, clock: FakeClock, filters: NotificationFilter, expected: list[int]) -> None:
    ids = _seed(journal, clock)

    assert [n.id for n in journal.list_notifications(filters)] == [ids[index] for index in expected]


def test_list_filters_on_generated_time(journal: Journal) -> None:
    early = new_notification(payload={"n": "early"})
    late = dataclasses.replace(new_notification(), generated_time=early.generated_time + timedelta(minutes=10))
    _record(journal, early)
    _record(journal, late)

    since = NotificationFilter(generated_since=early.generated_time + timedelta(minutes=1))

    assert [n.id for n in journal.list_notifications(since)] == [late.id]


def test_list_rejects_an_unknown_marker_and_a_bad_limit(journal: Journal) -> None:
    with pytest.raises(UnknownNotificationError):
        journal.list_notifications(marker="no-such-id")
    with pytest.raises(ValueError, match="limit"):
        journal.list_notifications(limit=0)


def test_notifications_past_deadline_are_the_open_overdue_ones(journal: Journal, clock: FakeClock) -> None:
    overdue_running = _record(journal, new_notification("compute-1")).notification.id
    journal.set_status(overdue_running, S.RUNNING)
    overdue_finished = _record(journal, new_notification("compute-2")).notification.id
    journal.set_status(overdue_finished, S.FINISHED)
    clock.advance(timedelta(minutes=10))
    overdue_new = _record(journal, new_notification("compute-3")).notification.id
    clock.advance(TERMINAL_WITHIN)  # now == overdue_new's deadline: due (the deadline is inclusive)
    not_yet_due = _record(journal, new_notification("compute-4")).notification.id

    due = [n.id for n in journal.notifications_past_deadline()]

    assert due == [overdue_running, overdue_new]
    assert not_yet_due not in due
