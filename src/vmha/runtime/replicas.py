"""Gateway replicas watch each other through the journal and take a dead one's work over in seconds.

Every replica records in the journal the Zaqar claim of each message it handles or holds (before handling it)
and the steps it runs (``begin_step``'s owner), and beats: a counter it moves every
``gateway.takeover_seconds / 5``. The others watch the counters with their own monotonic clocks (no clock is
compared across machines). A replica whose counter has not moved for ``takeover_seconds``, or that ran on this
machine and whose process is gone (after one more look, so a replica in another PID namespace that still beats
is never taken for it), is dead: a survivor ends the journal leases of the steps it ran, releases its Zaqar
claims and wakes its own workers, which claim the messages at once and find in the journal where each
recovery stands. The claim TTL is then only the last resort, for a replica killed between a claim and its
record.

A journal that cannot be read stops every verdict (the watch starts again when it answers), so an outage of
the journal never makes replicas take each other over. A replica that finds it was taken over (it stopped
beating longer than ``takeover_seconds``: paused, or cut off from the journal) drops the messages it holds,
whose claims were released, and joins again under a new name.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from vmha.journal import Heartbeat, HeldClaim
from vmha.runtime.held import HeldMessages
from vmha.runtime.queues import Claimed
from vmha.runtime.services import Services
from vmha.runtime.wakeup import Wakeup

log = logging.getLogger(__name__)

BEATS_PER_TAKEOVER = 5
"""A replica beats this many times within ``takeover_seconds``."""


def process_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (in this PID namespace)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Watched:
    beats: int
    since: float
    """``time.monotonic()`` when ``beats`` was first seen at this value."""


class Replica:
    """This gateway process as one of the replicas: its name, its claims, its heartbeat and its watch."""

    def __init__(self, services: Services, held: HeldMessages, wakeup: Wakeup, *,
                 host: str | None = None, pid: int | None = None,
                 exists: Callable[[int], bool] = process_exists, clock: Callable[[], float] = time.monotonic) -> None:
        self._services = services
        self._held = held
        self._wakeup = wakeup
        self._host = host or socket.gethostname()
        self._pid = os.getpid() if pid is None else pid
        self._exists = exists
        self._clock = clock
        self.owner = self._new_owner()
        self._lock = threading.Lock()
        self._recorded: set[HeldClaim] = set()
        self._released: list[HeldClaim] = []
        self._watched: dict[str, _Watched] = {}

    @property
    def interval(self) -> float:
        """Seconds between two beats (and looks at the others)."""
        return self._services.settings.gateway.takeover_seconds / BEATS_PER_TAKEOVER

    def join(self) -> None:
        """Record this replica as live."""
        self._services.journal.join_replica(self.owner, host=self._host, pid=self._pid)
        log.info("replica joined", extra={"owner": self.owner})

    def leave(self) -> None:
        """Forget this replica and its claims (call after releasing them)."""
        self._services.journal.leave_replica(self.owner)

    def holding(self, claimed: Claimed) -> None:
        """Record the claim on ``claimed`` before it is handled (once per claim: a held message keeps its own)."""
        claim = _held_claim(claimed)
        with self._lock:
            if claim in self._recorded:
                return
        self._services.journal.hold_claim(self.owner, claim)
        with self._lock:
            self._recorded.add(claim)

    def released(self, claimed: Claimed) -> None:
        """The message ``claimed`` was deleted or given back: its record goes at the next beat."""
        claim = _held_claim(claimed)
        with self._lock:
            if claim in self._recorded:
                self._recorded.discard(claim)
                self._released.append(claim)

    def beat_once(self) -> tuple[str, ...]:
        """Beat, then take over every replica found dead; return their names."""
        with self._lock:
            released, self._released = self._released, []
        try:
            alive = self._services.journal.beat(self.owner, released)
        except Exception:
            with self._lock:
                self._released[:0] = released
            self._watched.clear()  # no verdict across a time the journal could not be read
            raise
        if not alive:
            self._rejoin()
            return ()
        try:
            heartbeats = self._services.journal.heartbeats()
        except Exception:
            self._watched.clear()
            raise
        dead = self._dead(heartbeats)
        for owner in dead:
            self._take_over(owner)
        return dead

    def _dead(self, heartbeats: tuple[Heartbeat, ...]) -> tuple[str, ...]:
        now, limit = self._clock(), self._services.settings.gateway.takeover_seconds
        dead = []
        seen = {beat.owner: beat for beat in heartbeats if beat.owner != self.owner}
        for owner in set(self._watched) - set(seen):
            del self._watched[owner]
        for owner, beat in seen.items():
            watched = self._watched.get(owner)
            if watched is None or watched.beats != beat.beats:
                self._watched[owner] = _Watched(beat.beats, now)
                if beat.beats < 0:
                    dead.append(owner)
                continue
            gone_here = beat.host == self._host and beat.pid != self._pid and not self._exists(beat.pid)
            if gone_here or now - watched.since >= limit:
                dead.append(owner)
        return tuple(dead)

    def _take_over(self, owner: str) -> None:
        services = self._services
        claims = services.journal.take_over(owner)
        for claim in claims:
            try:
                services.queues.release(Claimed(claim.queue, claim.message_id, claim.claim_id, None))
            except Exception as error:  # gone already (deleted, or expired): nothing to give back
                log.info("a dead replica's claim could not be released",
                         extra={"owner": owner, "message_id": claim.message_id, "error": str(error)})
        services.journal.forget_claims(owner, claims)
        self._watched.pop(owner, None)
        log.warning("replica taken over", extra={"owner": owner, "claims": len(claims)})
        if claims:
            self._wakeup.wake_all()

    def _rejoin(self) -> None:
        dropped = self._held.clear()
        with self._lock:
            self._recorded.clear()
            self._released.clear()
        log.error("this replica was taken over (it did not beat for gateway.takeover_seconds); it dropped the "
                  "messages it held and joins again", extra={"owner": self.owner, "dropped": dropped})
        self.owner = self._new_owner()
        self.join()

    def _new_owner(self) -> str:
        return f"{self._host}/{self._pid}/{uuid.uuid4().hex[:12]}"


def _held_claim(claimed: Claimed) -> HeldClaim:
    return HeldClaim(claimed.queue, claimed.id, claimed.claim_id)
