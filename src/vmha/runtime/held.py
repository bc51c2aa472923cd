"""The messages one gateway process keeps under their claims until they are due (see ``vmha.runtime.runner``).

A held message waiting for capacity that a sibling branch frees (a free evacuation slot) is run early when a
branch of its notification ends in this process: one such waiter per branch end, the one due first, as one
ended branch frees one unit of capacity. Its delay is then only the longest wait, for capacity freed where
this process cannot see it (another replica).

A held look at a server that Nova announces on the message bus (``wake_key``: its uuid) runs early when the
listener hears such an announcement (``wake``), or at once when one came while the look was running (the
``pending`` news of ``vmha.nova_news``); its delay is then only the fallback poll.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vmha.runtime.queues import Claimed
from vmha.runtime.wakeup import Wakeup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Held:
    """A message to run again in this process after ``delay`` seconds, under the claim it came with.

    ``branch_waiter``: the notification id when the message waits for a branch of that notification to end;
    ``wake_key``: the server whose announcement by Nova should run it early.
    """

    claimed: Claimed
    delay: float
    branch_waiter: str | None = None
    wake_key: str | None = None


@dataclass(order=True)
class _Entry:
    due: float
    order: int
    held: Held = field(compare=False)


class HeldMessages:
    """Thread-safe store of held messages, ordered by due time; wakes a consumer when one falls due."""

    def __init__(self, wakeup: Wakeup, pending: Callable[[str], bool] = lambda key: False) -> None:
        """``pending(key)``: whether news for a wake key came that no look took yet."""
        self._wakeup = wakeup
        self._pending = pending
        self._entries: list[_Entry] = []
        self._order = itertools.count()
        self._lock = threading.Lock()

    def hold(self, held: Held) -> None:
        """Keep ``held`` until its delay has run out, or until its wake key's news (which may have come already)."""
        entry = _Entry(time.monotonic() + held.delay, next(self._order), held)
        with self._lock:
            heapq.heappush(self._entries, entry)
        # after the push: news heard before this check is seen here, news heard after it wakes the entry
        if held.wake_key is not None and self._pending(held.wake_key):
            self.wake(held.wake_key)
        # even when due at once: the worker that held it may take another held message first
        self._wakeup.wake_after(held.delay, held=True)

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
        self._wakeup.wake_after(0, held=True)
        return True

    def wake(self, key: str) -> int:
        """News for ``key`` came: every message held with that wake key runs now. Returns how many."""
        woken = self._run_now(lambda held: held.wake_key == key)
        if woken:
            log.info("held look woken by Nova's news", extra={"instance_uuid": key, "woken": woken})
        return woken

    def wake_announced(self) -> int:
        """Every message held with a wake key runs now (no news will come: the listener lost the broker).
        Returns how many."""
        return self._run_now(lambda held: held.wake_key is not None)

    def clear(self) -> int:
        """Drop every held message (their claims were given away); return how many there were."""
        with self._lock:
            dropped = len(self._entries)
            self._entries.clear()
        return dropped

    def _run_now(self, chosen: Callable[[Held], bool]) -> int:
        """The held messages ``chosen`` picks, not due yet, fall due now; returns how many."""
        now = time.monotonic()
        with self._lock:
            woken = [entry for entry in self._entries if chosen(entry.held) and entry.due > now]
            for entry in woken:
                entry.due = now
            if woken:
                heapq.heapify(self._entries)
        for _ in woken:
            self._wakeup.wake_after(0, held=True)
        return len(woken)
