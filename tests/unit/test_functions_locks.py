"""The locks between gateway replicas (vmha.functions.locks) on tooz's real file driver.

The etcd3 and Redis drivers, and a lock outliving a dead holder until its lock_timeout, run in
tests/integration/test_recovery_e2e_coordination.py against the local cloud's etcd and Redis.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from vmha.functions import locks
from vmha.functions.locks import LockUnavailableError, Scope
from vmha.journal import Journal
from vmha.outcomes import Retry

from .functions_support import host_down, make_world
from .journal_support import FakeClock

HOLD_AND_WAIT = """
import sys, time
from vmha.functions import locks
with locks.held(sys.argv[1], sys.argv[2]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"file://{tmp_path / 'locks'}"


@pytest.mark.parametrize("coordination", ["file", "none"])
def test_a_lock_held_by_one_worker_is_refused_to_another_until_released(url: str, coordination: str) -> None:
    url = url if coordination == "file" else ""  # none: the locks of this process alone
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with locks.held(url, "vmha-host-compute1"):
            taken.set()
            release.wait(30)

    worker = threading.Thread(target=hold)
    worker.start()
    try:
        assert taken.wait(30)
        with pytest.raises(LockUnavailableError, match="lock vmha-host-compute1 still held"), \
                locks.held(url, "vmha-host-compute1", wait=0.2):
            pass
        with locks.held(url, "vmha-host-compute2", wait=0.2):  # another name is another lock
            pass
    finally:
        release.set()
        worker.join(30)
    with locks.held(url, "vmha-host-compute1", wait=5):
        pass


def test_a_dead_processs_lock_is_free_again(url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_AND_WAIT, url, "vmha-reserved-hosts-a"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockUnavailableError), locks.held(url, "vmha-reserved-hosts-a", wait=0.2):
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    with locks.held(url, "vmha-reserved-hosts-a", wait=5):
        pass


def test_an_unusable_backend_makes_the_step_retry_without_running_it(journal: Journal, clock: FakeClock) -> None:
    world = make_world(journal, clock, coordination_url="nosuchdriver://127.0.0.1:1",
                       retry={"recheck_interval_seconds": 7})
    ran: list[str] = []
    outcome = locks.exclusive(world.context(world.notification(host_down())), Scope.EVACUATIONS, "n",
                              lambda: ran.append("ran"))
    assert isinstance(outcome, Retry) and outcome.delay == 7 and outcome.outage
    assert "coordination backend unavailable" in outcome.reason and "nosuchdriver" in outcome.reason
    assert ran == []


def test_lock_names_and_the_default_lock_timeout() -> None:
    assert locks.lock_name(Scope.RESERVED_HOSTS, "segment a/1") == "vmha-reserved-hosts-segment%20a%2F1"
    assert locks.with_lock_timeout("redis://127.0.0.1:6379?namespace=x") == \
        f"redis://127.0.0.1:6379?lock_timeout={locks.LOCK_TIMEOUT}&namespace=x"
    assert locks.with_lock_timeout("etcd3+http://127.0.0.1:2379?lock_timeout=3") == \
        "etcd3+http://127.0.0.1:2379?lock_timeout=3"
