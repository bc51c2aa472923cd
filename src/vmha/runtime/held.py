"""The messages one gateway process keeps under their claims until they are due (see ``vmha.runtime.runner``).

A held message waiting for capacity that a sibling branch frees (a free evacuation slot) is run early when a
branch of its notification ends in this process: one such waiter per branch end, the one due first, as one
ended branch frees one unit of capacity. Its delay is then only the longest wait, for capacity freed where
this process cannot see it (another replica).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field

from vmha.runtime.queues import Claimed
from vmha.runtime.wakeup import Wakeup


@dataclass(frozen=True)
class Held:
    """A message to run again in this process after ``delay`` seconds, under the claim it came with.

    ``branch_waiter``: the notification id when the message waits for a branch of that notification to end.
    """

    claimed: Claimed
    delay: float
    branch_waiter: str | None = None


@dataclass(order=True)
class _Entry:
    due: float
    order: int
    held: Held = field(compare=False)


class HeldMessages:
    """Thread-safe store of held messages, ordered by due time; wakes a consumer when one falls due."""

    def __init__(self, wakeup: Wakeup) -> None:
        self._wakeup = wakeup
        self._entries: list[_Entry] = []
        self._order = itertools.count()
        self._lock = threading.Lock()

    def hold(self, held: Held) -> None:
        """Keep ``held`` until its delay has run out."""
        with self._lock:
            heapq.heappush(self._entries, _Entry(time.monotonic() + held.delay, next(self._order), held))
        # even when due at once: the worker that held it may take another held message first
        self._wakeup.wake_after(held.delay)

    def pop_due(self) -> Claimed | None:
        """The message due first, if its time has come."""
        with self._lock:
            if self._entries and self._entries[0].due <= time.monotonic():
                return heapq.heappop(self._entries).held.claimed
        return None

    def branch_ended(self, notification_id: str) -> bool:
        """A branch of ``notification_id`` ended: its waiter due first runs now. Returns whether there was one."""
        now = time.monotonic()
        with self._lock:
            waiters = [entry for entry in self._entries
                       if entry.held.branch_waiter == notification_id and entry.due > now]
            if not waiters:
                return False
            min(waiters).due = now
            heapq.heapify(self._entries)
        self._wakeup.wake()
        return True

    def clear(self) -> int:
        """Drop every held message (their claims were given away); return how many there were."""
        with self._lock:
            dropped = len(self._entries)
            self._entries.clear()
        return dropped
