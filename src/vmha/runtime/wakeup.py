"""Wake-ups for idle consumers: a push from a Zaqar subscription, a post, a stop, or a delay that ran out.

A wake-up is for one message, so it wakes one idle consumer, not all of them (every woken consumer asks Zaqar
for work: two requests each). A generation counter makes a wake-up that arrives between a consumer's empty
claim and its wait count: the consumer waits only if nothing happened since it last looked.
"""

from __future__ import annotations

import heapq
import math
import threading
import time


class Wakeup:
    """Shared by the consumers of one process; ``time.monotonic`` seconds throughout."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._generation = 0
        self._due: list[float] = []

    @property
    def generation(self) -> int:
        """Changes on every wake-up; read it before looking for work."""
        with self._condition:
            return self._generation

    def wake(self) -> None:
        """Wake one waiting consumer now (and any that is looking for work)."""
        with self._condition:
            self._generation += 1
            self._condition.notify()

    def wake_all(self) -> None:
        """Wake every waiting consumer now (to stop)."""
        with self._condition:
            self._generation += 1
            self._condition.notify_all()

    def wake_after(self, seconds: float) -> None:
        """Wake one consumer ``seconds`` from now (a held message, or a delayed one in Zaqar, is due)."""
        with self._condition:
            heapq.heappush(self._due, time.monotonic() + seconds)
            self._condition.notify()

    def wait(self, seen: int, timeout: float) -> None:
        """Wait up to ``timeout`` seconds unless the generation moved past ``seen``, or a due time came (each
        due time ends the wait of one consumer)."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._generation == seen:
                now = time.monotonic()
                if self._due and self._due[0] <= now:
                    heapq.heappop(self._due)
                    if self._due and self._due[0] <= now:
                        self._condition.notify()  # another one is due: another consumer
                    return
                until = min(deadline, self._due[0] if self._due else math.inf)
                if until <= now:
                    return
                self._condition.wait(until - now)
