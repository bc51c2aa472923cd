"""Runtime parts that need no cloud: the sweeper on fake time, wake-ups, the HTTP endpoint, the CLI's errors."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest

from vmha import cli
from vmha.journal import Journal, NotificationStatus
from vmha.runtime.consumer import sweep
from vmha.runtime.http import HEALTH_PATH, WAKEUP_PATH, WakeupServer
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


def test_a_due_delay_wakes_the_waiters() -> None:
    wakeup = Wakeup()
    seen = wakeup.generation
    wakeup.wake_after(0)
    waiter = threading.Thread(target=wakeup.wait, args=(seen, 3600))
    waiter.start()
    waiter.join(30)
    assert not waiter.is_alive()
    assert wakeup.generation == seen + 1


@pytest.fixture
def server() -> Iterator[tuple[WakeupServer, list[str], list[bool]]]:
    woken: list[str] = []
    health = [True]
    endpoint = WakeupServer("127.0.0.1", 0, lambda: woken.append("push"), lambda: health[0])
    endpoint.start()
    yield endpoint, woken, health
    endpoint.stop()


def call(url: str, body: bytes | None = None) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_zaqar_push_wakes_the_consumers(server: tuple[WakeupServer, list[str], list[bool]]) -> None:
    endpoint, woken, _ = server
    push = {"body": {"id": "x"}, "ttl": 300, "queue_name": "vmha-notifications", "Message_Type": "Notification"}
    assert call(endpoint.url + WAKEUP_PATH, json.dumps(push).encode()) == (202, {"woken": True})
    assert woken == ["push"]
    assert call(endpoint.url + "/v1/other", b"{}")[0] == 404
    assert woken == ["push"]


def test_health_reflects_the_workers(server: tuple[WakeupServer, list[str], list[bool]]) -> None:
    endpoint, _, health = server
    assert call(endpoint.url + HEALTH_PATH) == (200, {"status": "ok"})
    health[0] = False
    assert call(endpoint.url + HEALTH_PATH) == (503, {"status": "unhealthy"})


def test_gateway_reports_an_unloadable_step_table_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["gateway", "--steps", "tests.no_such_module:STEPS"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("vmha: cannot import tests.no_such_module") and "Traceback" not in error
    assert cli.main(["gateway", "--steps", "tests.runtime_steps:NOPE"]) == 2
    assert "has no attribute NOPE" in capsys.readouterr().err
