"""What the consumer's workers are handling, and since when: the gateway's health names workers stuck.

Every wait of a handling is bounded (the step's own timeout, ``settings.timeouts`` for OpenStack, the journal
and the coordination backend), so a handling that runs much longer than its step's timeout hangs on
something unbounded: ``/healthz`` then answers 503, for an orchestrator to restart the process (its claimed
messages come back to the other replicas).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Handling:
    """One message a worker handles: which thread, what, and until when it may run."""

    worker: str
    message_id: str
    started: float
    limit_seconds: float


class Busy:
    """The handlings in progress in this process (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._handlings: dict[int, Handling] = {}

    def begin(self, message_id: str, limit_seconds: float) -> None:
        """The calling worker starts handling ``message_id``, which should end within ``limit_seconds``."""
        thread = threading.current_thread()
        with self._lock:
            self._handlings[thread.ident or 0] = Handling(thread.name, message_id, self._clock(), limit_seconds)

    def end(self) -> None:
        """The calling worker's handling ended."""
        with self._lock:
            self._handlings.pop(threading.current_thread().ident or 0, None)

    def stuck(self) -> list[Handling]:
        """The handlings running past their limit."""
        now = self._clock()
        with self._lock:
            return [item for item in self._handlings.values() if now - item.started > item.limit_seconds]
