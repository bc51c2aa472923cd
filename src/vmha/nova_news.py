"""What this process heard from Nova's versioned notifications about servers, shared by the listener that hears
it (``vmha.runtime.nova_listener``), the runtime that holds waiting looks, and the step that looks.

News only ever prompts a look: nothing here is trusted to decide anything, a step still reads Nova. A server is
*followed* while the listener is connected and has heard of it (any event): its announcements can then stand
in for quick polling. A server has *news* when its latest event told that it may have settled (no task left,
or a task ended) and no look has taken that news since: a later event that tells nothing of the kind (a task
begun, a lock) makes it stale, so news of an earlier life of the server (its boot) never prompts a look at
its evacuation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

KEPT_SECONDS = 600.0
"""What was heard of a server is forgotten this long after its last event (its recovery looks no more)."""


class NovaNews:
    """Thread-safe; ``time.monotonic`` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heard: dict[str, float] = {}
        self._news: set[str] = set()
        self._connected = False
        self._lock = threading.Lock()

    def connected(self, up: bool) -> None:
        """The listener is consuming (True) or lost the broker (False)."""
        with self._lock:
            self._connected = up

    def heard(self, server: str, settled: bool) -> None:
        """An event about ``server``; ``settled``: it tells the server may have settled (otherwise news not taken
        yet is stale)."""
        now = self._clock()
        with self._lock:
            if len(self._heard) > 1000:
                self._heard = {key: at for key, at in self._heard.items() if now - at < KEPT_SECONDS}
                self._news &= self._heard.keys()
            self._heard[server] = now
            if settled:
                self._news.add(server)
            else:
                self._news.discard(server)

    def following(self, server: str) -> bool:
        """Whether the listener is connected and has heard of ``server`` lately."""
        with self._lock:
            at = self._heard.get(server)
            return self._connected and at is not None and self._clock() - at < KEPT_SECONDS

    def pending(self, server: str) -> bool:
        """Whether ``server`` has news no look took yet."""
        with self._lock:
            return server in self._news

    def take(self, server: str) -> bool:
        """Whether ``server`` had news no look took yet; a look takes it."""
        with self._lock:
            if server not in self._news:
                return False
            self._news.discard(server)
            return True


NEWS = NovaNews()
"""This process's news."""
