"""A token bucket for the unauthenticated ``/v1/wakeup``: a wake-up only makes the consumers claim at once, so
more than a few a second do nothing but cost the caller's share of HTTP workers; past the rate the route
answers 429 with Retry-After instead of waking anyone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

WAKEUPS_PER_SECOND = 5.0
WAKEUP_BURST = 10


class Throttle:
    """At most ``rate`` calls a second on average, ``burst`` at once; ``clock`` is monotonic seconds."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """0 when a call may go now (it is counted); else the seconds until the next one may."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return 0.0
            return (1 - self._tokens) / self._rate
