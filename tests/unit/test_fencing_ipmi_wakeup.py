"""The mend of pyghmi's lost wake-up, on pyghmi's own session table.

A stand-in session holds the queued answers: the race, and an answer left queued for another session, cannot be
produced on demand with a real BMC (tests/integration/test_fencing_ipmi_wakeup.py provokes the race itself).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pytest
from pyghmi.ipmi.private import session as ipmi_session

from vmha.fencing import ipmi_wakeup
from vmha.fencing.ipmi_wakeup import QueuedAnswers, waking

BMC = ("127.0.0.1", 623)


class StandInSession:
    def __init__(self) -> None:
        self.pktqueue: deque[tuple[bytes, Any]] = deque()


class RecordedWaits:
    def __init__(self) -> None:
        self.calls: list[tuple[float, Any, Any]] = []

    def __call__(self, timeout: float, myaddr: Any = None, evq: Any = None) -> None:
        self.calls.append((timeout, myaddr, evq))


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> StandInSession:
    standing_in = StandInSession()
    monkeypatch.setattr(ipmi_session.Session, "bmc_handlers", {BMC: {40000: standing_in}})
    return standing_in


def test_a_queued_answer_ends_the_wait_for_it_at_once(session: StandInSession) -> None:
    waits = RecordedWaits()
    wait = waking(waits, QueuedAnswers())
    session.pktqueue.append((b"answer", BMC))
    wait(0.7, BMC)
    assert waits.calls == []


def test_an_answer_left_queued_ends_one_wait_only(session: StandInSession) -> None:
    """Another session's answer, which this caller does not take from the queue, must not make it spin."""
    waits = RecordedWaits()
    wait = waking(waits, QueuedAnswers())
    session.pktqueue.append((b"someone else's", BMC))
    wait(0.7, BMC)
    wait(0.7, BMC)
    assert waits.calls == [(0.7, BMC, None)]
    session.pktqueue.append((b"a new one", BMC))
    session.pktqueue.popleft()
    wait(0.7, BMC)
    assert len(waits.calls) == 1


def test_waits_without_a_queued_answer_or_for_a_command_slot_sleep(session: StandInSession) -> None:
    waits = RecordedWaits()
    wait = waking(waits, QueuedAnswers())
    wait(0.7, BMC)
    session.pktqueue.append((b"answer", BMC))
    slot_waiters: deque[Any] = deque()
    wait(2.0, BMC, slot_waiters)
    wait(30.0)
    assert waits.calls == [(0.7, BMC, None), (2.0, BMC, slot_waiters), (30.0, None, None)]


def test_installed_once_around_pyghmis_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    pyghmis = RecordedWaits()
    monkeypatch.setattr(ipmi_session, "_io_wait", pyghmis)
    assert ipmi_wakeup.install() and ipmi_wakeup.install()
    assert ipmi_session._io_wait.__wrapped__ is pyghmis
