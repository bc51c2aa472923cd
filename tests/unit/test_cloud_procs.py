"""The local cloud's process control (tests/cloud/procs.py): a service SIGKILLed on purpose is told apart from
one found dead, so a test session starting on a shared cloud does not restart a host another session failed.
Real processes (``sleep``) stand for the cloud's services."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloud import procs
from tests.cloud.layout import Layout


@pytest.fixture(autouse=True)
def reaped_children() -> Iterator[None]:
    """Children reaped at once, as the cloud's services are by init (no zombie keeps a killed group alive)."""
    before = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGCHLD, before)


def test_a_killed_service_is_down_on_purpose_until_started_again(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    procs.start(layout, "nova-hostx", ["sleep", "60"])
    assert not procs.killed_on_purpose(layout, "nova-hostx", 60)
    procs.kill(layout, "nova-hostx")
    assert not procs.is_running(layout, "nova-hostx")
    assert procs.killed_on_purpose(layout, "nova-hostx", 60)
    procs.start(layout, "nova-hostx", ["sleep", "60"])
    try:
        assert not procs.killed_on_purpose(layout, "nova-hostx", 60)
    finally:
        procs.kill(layout, "nova-hostx")


def test_an_old_kill_is_a_leftover(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    procs.start(layout, "nova-hosty", ["sleep", "60"])
    procs.kill(layout, "nova-hosty")
    an_hour_ago = time.time() - 3600
    os.utime(procs.killed_marker(layout, "nova-hosty"), (an_hour_ago, an_hour_ago))
    assert not procs.killed_on_purpose(layout, "nova-hosty", 900)


def test_a_service_never_killed_is_not_down_on_purpose(tmp_path: Path) -> None:
    assert not procs.killed_on_purpose(Layout(tmp_path), "nova-hostz", 900)
