"""What this process heard from Nova's versioned notifications about servers, shared by the listener that hears
it (``vmha.runtime.nova_listener``), the runtime that holds waiting looks, and the step that looks.

News only ever prompts a look: nothing here is trusted to decide anything, a step still reads Nova. A server is
*followed* while the listener is connected and has heard of it (any event): its announcements can then stand
in for quick polling. A server has *news* when its latest event told that it may have settled (no task left,
or a task ended) and no look has taken that news since: a later event that tells nothing of the kind (a task
begun, a lock) makes it stale, so news of an earlier life of the server (its boot) never prompts a look at
its evacuation. News *wakes* the looks held for the server only when it can settle something: a look that
awaits the server's move off a failed host (``leaving``) is not woken by news naming it still there with no
error (Nova ends the rebuild there, then moves it), but takes that news when it runs for another reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

KEPT_SECONDS = 600.0
"""What was heard of a server is forgotten this long after its last event (its recovery looks no more)."""
MAX_POLL_DOUBLINGS = 2
"""A followed server's fallback poll doubles after each look that found no news, up to this many times (``poll``)."""


@dataclass(frozen=True)
class News:
    """What the latest event telling a server may have settled said, as far as a look chooses its reads by it."""

    host: str | None
    """The host Nova named the server on (None: none named)."""
    error: bool = False
    """It told of an error (an ``.error`` event, or the server in ERROR)."""


class NovaNews:
    """Thread-safe; ``time.monotonic`` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heard: dict[str, float] = {}
        self._news: dict[str, News] = {}
        self._silent: dict[str, int] = {}
        self._leaving: dict[str, str] = {}
        self._connected = False
        self._lock = threading.Lock()

    def connected(self, up: bool) -> bool:
        """The listener is consuming (True) or lost the broker (False); returns whether it was consuming."""
        with self._lock:
            was, self._connected = self._connected, up
            return was

    def heard(self, server: str, settled: bool, host: str | None = None, error: bool = False) -> bool:
        """An event about ``server`` naming it on ``host``; ``settled``: it tells the server may have settled
        (otherwise news not taken yet is stale); ``error``: it tells of an error. Returns whether it wakes the
        looks held for the server (see the module docstring)."""
        now = self._clock()
        with self._lock:
            if len(self._heard) > 1000:
                self._heard = {key: at for key, at in self._heard.items() if now - at < KEPT_SECONDS}
                self._news = {key: news for key, news in self._news.items() if key in self._heard}
                self._silent = {key: count for key, count in self._silent.items() if key in self._heard}
                self._leaving = {key: host for key, host in self._leaving.items() if key in self._heard}
            self._heard[server] = now
            if not settled:
                self._news.pop(server, None)
                return False
            news = self._news[server] = News(host, error)
            return self._wakes(server, news)

    def leaving(self, server: str, host: str) -> None:
        """The looks at ``server`` await its move off ``host``: news naming it still there wakes none of them.
        Kept only for a server heard of (as what ``take`` counts), so that nothing here grows without the
        listener."""
        with self._lock:
            if server in self._heard:
                self._leaving[server] = host

    def following(self, server: str) -> bool:
        """Whether the listener is connected and has heard of ``server`` lately."""
        with self._lock:
            at = self._heard.get(server)
            return self._connected and at is not None and self._clock() - at < KEPT_SECONDS

    def pending(self, server: str) -> bool:
        """Whether ``server`` has news no look took yet that wakes its looks."""
        with self._lock:
            news = self._news.get(server)
            return news is not None and self._wakes(server, news)

    def take(self, server: str) -> News | None:
        """The news of ``server`` no look took yet, if any; a look takes it (and counts as silent without it)."""
        with self._lock:
            news = self._news.pop(server, None)
            if news is not None:
                self._silent.pop(server, None)
            elif server in self._heard:
                self._silent[server] = self._silent.get(server, 0) + 1
            return news

    def poll(self, server: str, seconds: float) -> float:
        """How long a look at ``server`` may wait for its news before it reads Nova anyway: ``seconds`` after a
        look that took news, doubled after each look since that took none, up to ``MAX_POLL_DOUBLINGS`` times.
        News flows while Nova works on the server; the fallback poll is only for news lost, which then costs at
        most the longest poll."""
        with self._lock:
            silent = self._silent.get(server, 0)
        return seconds * 2.0 ** min(silent, MAX_POLL_DOUBLINGS)

    def _wakes(self, server: str, news: News) -> bool:
        return news.error or news.host is None or news.host != self._leaving.get(server)


NEWS = NovaNews()
"""This process's news."""
