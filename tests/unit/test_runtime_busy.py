"""The consumer's record of handlings in progress: a worker past its handling's limit is stuck (fake clock)."""

from __future__ import annotations

import threading

from vmha.runtime.busy import Busy


def test_a_handling_past_its_limit_is_stuck_until_it_ends() -> None:
    now = [100.0]
    busy = Busy(lambda: now[0])
    busy.begin("message-a", 40.0)
    now[0] = 140.0
    assert busy.stuck() == []
    now[0] = 140.5
    [stuck] = busy.stuck()
    assert (stuck.message_id, stuck.worker, stuck.limit_seconds) == ("message-a", threading.current_thread().name, 40)
    busy.end()
    assert busy.stuck() == []


def test_each_worker_has_its_own_handling() -> None:
    now = [0.0]
    busy = Busy(lambda: now[0])
    other = threading.Thread(target=lambda: busy.begin("message-b", 5.0), name="vmha-worker-7")
    other.start()
    other.join()
    busy.begin("message-a", 60.0)
    now[0] = 10.0
    assert [(item.worker, item.message_id) for item in busy.stuck()] == [("vmha-worker-7", "message-b")]
    busy.end()  # ends this thread's handling only
    assert [item.message_id for item in busy.stuck()] == ["message-b"]
