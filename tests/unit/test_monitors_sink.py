"""The spool and the spooling sink: durable, in order, retried, resumed by a new sink on the same spool.

The target here is a small stateful fake at the Target seam (up/down/refusing on demand); the real Zaqar
and Masakari targets are exercised in tests/integration/test_monitors_sink.py.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.monitors_support import wait_until
from vmha.contracts import ContractError, Notification, ProcessEvent, ProcessPayload, parse_notification
from vmha.monitors.sink import (
    Backoff,
    MemorySink,
    Reporter,
    SpoolingSink,
    TargetRejectedError,
    TargetUnavailableError,
)
from vmha.monitors.spool import REJECTED, Spool

BACKOFF = Backoff(initial=0.01, maximum=0.05, multiplier=2)


class SwitchableTarget:
    """Accepts while ``up`` is set, raises TargetUnavailableError otherwise; refuses names in ``refuse``."""

    name = "fake"

    def __init__(self, up: bool = True) -> None:
        self.up = threading.Event()
        if up:
            self.up.set()
        self.delivered: list[dict[str, Any]] = []
        self.attempts = 0
        self.refuse: set[str] = set()

    def deliver(self, document: dict[str, Any]) -> None:
        self.attempts += 1
        if not self.up.is_set():
            raise TargetUnavailableError("down")
        if document["payload"]["process_name"] in self.refuse:
            raise TargetRejectedError("malformed")
        self.delivered.append(document)


def notification(name: str) -> Notification:
    return Notification(uuid.uuid4(), "vmha-monitor/process@compute1", "compute1", datetime.now(UTC),
                        ProcessPayload(ProcessEvent.STOPPED, name))


def names(documents: list[dict[str, Any]]) -> list[str]:
    return [document["payload"]["process_name"] for document in documents]


def test_spool_keeps_order_and_survives_a_new_instance(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for index in range(50):
        spool.append({"n": index})
    again = Spool(tmp_path)
    entries = again.pending()
    assert [entry.document["n"] for entry in entries] == list(range(50))
    again.remove(entries[0])
    assert [entry.document["n"] for entry in Spool(tmp_path).pending()][:2] == [1, 2]
    assert not list(tmp_path.glob(".*.tmp"))


def test_spool_moves_an_unreadable_file_aside(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    path = spool.append({"n": 1})
    path.write_text("{not json")
    assert spool.pending() == []
    assert (tmp_path / REJECTED / path.name).read_text() == "{not json"


def test_spool_lock_admits_one_deliverer(tmp_path: Path) -> None:
    with Spool(tmp_path).lock() as first, Spool(tmp_path).lock() as second:
        assert (first, second) == (True, False)
    with Spool(tmp_path).lock() as later:
        assert later


def test_delivered_in_order_after_an_outage_and_nothing_lost(tmp_path: Path) -> None:
    target = SwitchableTarget(up=False)
    sink = SpoolingSink(tmp_path, [target], BACKOFF)
    try:
        for index in range(20):
            sink.send(notification(f"p{index}"))
        assert wait_until(lambda: target.attempts >= 3, 5)
        assert sink.pending() == 20 and target.delivered == []
        target.up.set()
        assert sink.drain(10)
    finally:
        sink.close()
    assert names(target.delivered) == [f"p{index}" for index in range(20)]
    for document in target.delivered:
        parse_notification(document)


def test_a_new_sink_on_the_same_spool_delivers_what_the_last_one_left(tmp_path: Path) -> None:
    down = SwitchableTarget(up=False)
    first = SpoolingSink(tmp_path, [down], BACKOFF)
    for index in range(5):
        first.send(notification(f"early{index}"))
    first.close()
    up = SwitchableTarget()
    second = SpoolingSink(tmp_path, [up], BACKOFF)
    try:
        second.send(notification("late"))
        assert second.drain(10)
    finally:
        second.close()
    assert names(up.delivered) == [*(f"early{index}" for index in range(5)), "late"]
    assert down.delivered == []


def test_a_refused_notification_is_kept_aside_and_does_not_block_the_rest(tmp_path: Path) -> None:
    target = SwitchableTarget()
    target.refuse.add("bad")
    sink = SpoolingSink(tmp_path, [target], BACKOFF)
    try:
        for name in ("a", "bad", "b"):
            sink.send(notification(name))
        assert sink.drain(10)
    finally:
        sink.close()
    assert names(target.delivered) == ["a", "b"]
    [kept] = (tmp_path / "fake" / REJECTED).iterdir()
    assert json.loads(kept.read_text())["payload"]["process_name"] == "bad"


def test_backoff_grows_to_its_ceiling() -> None:
    backoff = Backoff(initial=1, maximum=10, multiplier=2)
    assert [backoff.delay(failures) for failures in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_reporter_mints_a_fresh_id_per_report_and_names_its_source() -> None:
    sink = MemorySink()
    reporter = Reporter(sink, "compute1", "process")
    payload = ProcessPayload(ProcessEvent.STOPPED, "nova-compute")
    first, second = reporter.report(payload), reporter.report(payload)
    assert first.id != second.id
    assert sink.notifications == [first, second]
    assert first.source == "vmha-monitor/process@compute1" and first.hostname == "compute1"


def test_an_invalid_notification_is_refused_before_it_is_spooled(tmp_path: Path) -> None:
    sink = SpoolingSink(tmp_path, [SwitchableTarget(up=False)], BACKOFF)
    try:
        with pytest.raises(ContractError):
            sink.send(Notification(uuid.uuid4(), "vmha-monitor/process@x", "not a hostname!", datetime.now(UTC),
                                   ProcessPayload(ProcessEvent.STOPPED, "x")))
        assert sink.pending() == 0
    finally:
        sink.close()
