"""How evacuations are paced by what Nova shows: how many are in flight at once, how soon each is looked at.

A fixed limit is too low for a healthy control plane and too high for a struggling one. The window starts at
the operator's hard ceiling (``host_failure.max_parallel_evacuations``) and never exceeds it; it is halved when
Nova shows trouble with an evacuation request (an answer slower than ``SLOW_ACCEPT_SECONDS``, a 5xx, no
answer at all), at most once per ``SLOW_ACCEPT_SECONDS`` so that one bad moment counts once, and it grows
back by one with every request Nova accepts in time (additive increase, multiplicative decrease). It never
goes below one: a recovery always moves on.

The window is this process's view of Nova's health, shared by its recoveries; the servers in flight are
counted from the journal (``evacuate_instance``), so several replicas together never exceed the ceiling.

``confirm_instance_evacuated`` looks at an evacuated server again and again until it is settled. Looking
every second at fifty servers that Nova needs a minute to rebuild costs the gateway and Nova far more than
it tells, so ``Settling`` keeps the times this process saw from Nova's acceptance to a server settled: while
an evacuation is younger than half their median, the next look waits until then; after that (and before
``SETTLED_SEEN`` times are known) the step's usual quick rechecks apply. And ``Sightings`` answers those looks
for many servers with one read: the servers Nova still places on the failed host with a task in progress,
listed at most once per ``SIGHTING_SECONDS`` per host in this process, are not settled; only a server no
longer listed so (moved, or left without a task) is read on its own. A look never waits for another
thread's listing: it answers from the one before (busy when there is none), as a wait there held a worker
thread that an evacuation request needed (at 50 servers, looks queued behind listings for 7-8 s each).
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

SLOW_ACCEPT_SECONDS = 10.0
"""An evacuation request Nova takes longer than this to accept is a sign of an overloaded control plane."""
SETTLED_SEEN = 3
"""Settle times known before they pace the looks."""
SETTLED_KEPT = 50
"""The latest settle times kept: they follow Nova's current pace."""
SIGHTING_SECONDS = 0.5
"""How old a listing of a failed host's servers may be to answer a look."""
_KEPT = timedelta(minutes=10)
"""Listings not renewed for this long belong to recoveries that no longer look: dropped."""


class Window:
    """Evacuations in flight allowed per host recovery, between 1 and the ceiling (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._size: float | None = None  # None: at the ceiling, whatever it is
        self._cut_at = -math.inf
        self._lock = threading.Lock()

    def size(self, ceiling: int) -> int:
        """How many evacuations may be in flight now."""
        with self._lock:
            return self._bounded(ceiling)

    def accepted(self, seconds: float, ceiling: int) -> None:
        """Nova accepted an evacuation request after ``seconds``."""
        if seconds > SLOW_ACCEPT_SECONDS:
            self.troubled(ceiling)
            return
        with self._lock:
            if self._size is not None:
                grown = self._size + 1
                self._size = None if grown >= ceiling else grown

    def troubled(self, ceiling: int) -> None:
        """Nova answered an evacuation request too slowly, with a server error, or not at all."""
        with self._lock:
            now = self._clock()
            if now - self._cut_at >= SLOW_ACCEPT_SECONDS:
                self._cut_at = now
                self._size = max(1.0, self._bounded(ceiling) / 2)

    def _bounded(self, ceiling: int) -> int:
        return ceiling if self._size is None else max(1, min(ceiling, math.floor(self._size)))


WINDOW = Window()
"""This process's window."""


class Settling:
    """How long this process saw evacuations take from Nova's acceptance to the server settled (thread-safe)."""

    def __init__(self) -> None:
        self._seconds: deque[float] = deque(maxlen=SETTLED_KEPT)
        self._lock = threading.Lock()

    def settled(self, seconds: float) -> None:
        """A server was seen settled ``seconds`` after Nova accepted its evacuation."""
        with self._lock:
            self._seconds.append(seconds)

    def wait(self, elapsed: float) -> float:
        """How long an evacuation accepted ``elapsed`` seconds ago need not be looked at (0: look as usual)."""
        with self._lock:
            if len(self._seconds) < SETTLED_SEEN:
                return 0.0
            half = statistics.median(self._seconds) / 2
        return max(0.0, half - elapsed)


SETTLING = Settling()
"""This process's settle times."""


class Sightings:
    """The servers each recovery's failed host still holds with a task in progress, listed at most once per
    ``SIGHTING_SECONDS`` of the recovery's clock, by one thread at a time per recovery; no look ever waits for
    another thread's listing (thread-safe)."""

    def __init__(self) -> None:
        self._busy: dict[str, tuple[datetime, frozenset[str]]] = {}
        self._listing: set[str] = set()
        self._rebuilt: dict[str, tuple[datetime, set[str]]] = {}
        self._lock = threading.Lock()

    def rebuilt(self, recovery: str, uuid: str, now: datetime) -> None:
        """A read at ``now`` showed the server with no task left, still on the failed host of ``recovery``: Nova
        rebuilt it and moves it next. A listing older than that read must not make it look busy again (a look
        answered so would wait for news that already came), and its next looks need ask only whether Nova's
        evacuation record has ended."""
        with self._lock:
            self._rebuilt = {key: seen for key, seen in self._rebuilt.items() if abs(now - seen[0]) < _KEPT}
            self._rebuilt.setdefault(recovery, (now, set()))[1].add(uuid)

    def was_rebuilt(self, recovery: str, uuid: str) -> bool:
        """Whether a read showed the server rebuilt and not yet moved (``rebuilt``)."""
        with self._lock:
            seen = self._rebuilt.get(recovery)
            return seen is not None and uuid in seen[1]

    def busy_on(self, recovery: str, now: datetime, uuid: str, listing: Callable[[], list[Any]]) -> bool:
        """Whether the server is still on the failed host of ``recovery`` (a notification id) with a task in
        progress, per a listing at most ``SIGHTING_SECONDS`` old at ``now`` (``listing()``: Nova's servers on
        that host). While another thread lists that host, per the latest listing instead, and busy when there
        is none yet: the answer only ever delays a look, and a worker blocked behind a listing is one
        evacuation request fewer in flight."""
        with self._lock:
            found = self._busy.get(recovery)
            if found is not None and timedelta(0) <= now - found[0] <= timedelta(seconds=SIGHTING_SECONDS):
                return uuid in found[1]
            if recovery in self._listing:
                return found is None or uuid in found[1]
            self._listing.add(recovery)
        try:
            busy = frozenset(str(server.id) for server in listing() if server.task_state is not None)
        finally:
            with self._lock:
                self._listing.discard(recovery)
        with self._lock:
            self._busy = {key: seen for key, seen in self._busy.items() if abs(now - seen[0]) < _KEPT}
            self._busy[recovery] = (now, busy)
        return uuid in busy


SIGHTINGS = Sightings()
"""This process's listings."""
