"""Where Nova says the benchmark's servers are, heard from its versioned notifications rather than polled.

Waiting for a recovery by listing servers costs the one nova-api process of this machine what it is being measured
on: at 10 servers, the waiting listings took a quarter of nova-api's request time during a recovery (7.6 of
29.5 s, 2026-12-06), and each answer came 0.5-1.3 s late. Nova announces every change of a server's state, task
and host (``notify_on_state_change = vm_and_task_state``) on its exchange; ``NovaWatch`` hears them on a queue of
its own (``vmha.runtime.nova_listener.hear``), one daemon thread for the whole benchmark, and keeps the last
placement Nova announced for each server with the instant it was heard. A wait then reads that, and Nova only
once, to verify (``host_failure.wait_recovered``).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass

from tests.cloud.layout import Layout
from vmha.contracts import NovaNotificationOptions
from vmha.demo.servers import Placement
from vmha.runtime.nova_listener import hear, instance_event

READY_SECONDS = 15.0
"""Longest wait for the watch to hear Nova's exchange before a benchmark goes on without it."""


@dataclass(frozen=True)
class Heard:
    """A server's placement as Nova last announced it, and when (``time.monotonic()``) that was heard."""

    placement: Placement
    at: float


class NovaWatch:
    """One daemon thread keeping the last placement Nova announced per server (see the module docstring)."""

    def __init__(self, options: NovaNotificationOptions) -> None:
        self._options = options
        self._last: dict[str, Heard] = {}
        self._lock = threading.Lock()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="bench-nova-watch", daemon=True)
        self._thread.start()

    @property
    def listening(self) -> bool:
        """Whether the watch hears Nova now (a watch that lost the broker does not come back)."""
        return self._listening.is_set() and self._thread.is_alive()

    def ready(self, timeout: float) -> bool:
        return self._listening.wait(timeout)

    @property
    def servers_heard(self) -> int:
        """How many servers Nova has announced since the watch began."""
        with self._lock:
            return len(self._last)

    def last(self, server_id: str) -> Heard | None:
        with self._lock:
            return self._last.get(server_id)

    def _listen(self) -> None:
        with contextlib.suppress(Exception):  # the broker lost: the waits poll Nova again
            hear(self._options, f"vmha-bench-watch-{os.getpid()}", self._heard, self._listening.set, threading.Event())
        self._listening.clear()

    def _heard(self, body: object) -> None:
        event = instance_event(body)
        if event is None:
            return
        _, data = event
        state, task, host = data.get("state"), data.get("task_state"), data.get("host")
        status = state.upper() if isinstance(state, str) else "-"
        placement = Placement(data["uuid"], str(data.get("display_name", "")), host if isinstance(host, str) else "-",
                              status, task if isinstance(task, str) else None)
        with self._lock:
            self._last[placement.id] = Heard(placement, time.monotonic())


_watches: dict[str, NovaWatch] = {}


def watching(layout: Layout) -> NovaWatch | None:
    """The benchmark's watch of the cloud's Nova, started at the first call; None when it cannot hear Nova (the
    waits then poll Nova as before)."""
    watch = _watches.get(layout.transport_url)
    if watch is None or not watch.listening:
        options = NovaNotificationOptions(transport_url=layout.transport_url, exchange="nova",
                                          topic="versioned_notifications", poll_seconds=5.0, timeout_seconds=5.0)
        watch = _watches[layout.transport_url] = NovaWatch(options)
    return watch if watch.ready(READY_SECONDS) else None
