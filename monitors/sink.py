"""Where detections go: a notification is spooled to disk first, then delivered in order to each target.

``SpoolingSink.send`` returns once the notification is on disk (one spool per target, so a slow second
target never holds up Zaqar). A courier thread per target delivers the spool head first, removes it only
after the target accepted it, and retries with exponential backoff for as long as the target is
unavailable; a new sink on the same directory resumes where the last one stopped. ``MemorySink`` records
notifications for unit tests. ``Reporter`` stamps each detection with a fresh id, the host and the time.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from vmha.contracts import Notification, Payload
from vmha.monitors.spool import Spool, SpoolEntry

_LOG = logging.getLogger(__name__)


class Sink(Protocol):
    """Accepts notifications; ``send`` returns when the notification can no longer be lost."""

    def send(self, notification: Notification) -> None: ...


class TargetUnavailableError(Exception):
    """The target could not take the notification now (down, unreachable, auth failing): retry later."""


class TargetRejectedError(Exception):
    """The target refused the notification for good (malformed): retrying cannot help."""


class Target(Protocol):
    """One destination of notifications (the Zaqar queue, a Masakari-compatible API)."""

    name: str

    def deliver(self, document: dict[str, Any]) -> None:
        """Deliver one notification; raises TargetUnavailableError or TargetRejectedError."""


@dataclass(frozen=True)
class Backoff:
    """Exponential delays between delivery attempts."""

    initial: float
    maximum: float
    multiplier: float

    def delay(self, failures: int) -> float:
        """Wait after ``failures`` consecutive failed attempts (1 or more)."""
        return float(min(self.maximum, self.initial * self.multiplier ** max(failures - 1, 0)))


@dataclass(frozen=True)
class Reporter:
    """Turns a detection into a notification from this host and sends it."""

    sink: Sink
    hostname: str
    monitor: str
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def report(self, payload: Payload) -> Notification:
        notification = Notification(
            id=uuid.uuid4(),
            source=f"vmha-monitor/{self.monitor}@{self.hostname}",
            hostname=self.hostname,
            generated_time=self.clock(),
            payload=payload,
        )
        self.sink.send(notification)
        _LOG.info("notification sent", extra={"notification": notification.to_dict()})
        return notification


class MemorySink:
    """Keeps notifications in a list (unit tests); validates them as the real sink does."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    def send(self, notification: Notification) -> None:
        notification.to_dict()
        self.notifications.append(notification)


class SpoolingSink:
    """Spool-then-deliver to every target; ``close`` stops the couriers (the spool keeps the rest).

    ``warm_up``: prepares the targets' connection (authentication) ahead of the first notification.
    """

    def __init__(self, directory: Path, targets: Sequence[Target], backoff: Backoff,
                 warm_up: Callable[[], None] = lambda: None) -> None:
        self._couriers = [_Courier(Spool(directory / target.name), target, backoff) for target in targets]
        self._warm_up = warm_up
        for courier in self._couriers:
            courier.start()

    def warm_up(self) -> None:
        """Prepare the targets' connection in the background (a long-running monitor, at start)."""
        threading.Thread(target=self._warm_up, name="vmha-sink-warm-up", daemon=True).start()

    def send(self, notification: Notification) -> None:
        document = notification.to_dict()
        for courier in self._couriers:
            courier.spool.append(document)
            courier.wake.set()

    def healthy(self) -> bool:
        """Whether every courier is still running."""
        return all(courier.is_alive() for courier in self._couriers)

    def pending(self) -> int:
        """Notifications not yet delivered, summed over the targets."""
        return sum(len(courier.spool.pending()) for courier in self._couriers)

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every spool to empty (``--once``, tests); returns whether they did."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        for courier in self._couriers:
            courier.stop.set()
            courier.wake.set()
        for courier in self._couriers:
            courier.join()


class _Courier(threading.Thread):
    """Delivers one spool to one target, head first."""

    def __init__(self, spool: Spool, target: Target, backoff: Backoff) -> None:
        super().__init__(name=f"vmha-sink-{target.name}", daemon=True)
        self.spool = spool
        self.target = target
        self.backoff = backoff
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.failures = 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.wake.clear()
            with self.spool.lock() as owner:
                delay = self._deliver_all() if owner else self.backoff.initial
            if delay is None:  # all delivered: sleep until the next send (or look again now and then)
                self.wake.wait(self.backoff.maximum)
            else:  # respect the backoff even when new notifications arrive
                self.stop.wait(delay)

    def _deliver_all(self) -> float | None:
        """Deliver what is spooled; returns how long to wait before trying again, None when all went."""
        for entry in self.spool.pending():
            if self.stop.is_set():
                return 0.0
            if not self._deliver(entry):
                return self.backoff.delay(self.failures)
        return None

    def _deliver(self, entry: SpoolEntry) -> bool:
        try:
            self.target.deliver(entry.document)
        except TargetUnavailableError as error:
            self.failures += 1
            _LOG.warning("delivery failed, will retry", extra={
                "target": self.target.name, "error": str(error), "failures": self.failures,
                "retry_in_seconds": self.backoff.delay(self.failures)})
            return False
        except TargetRejectedError as error:
            self.spool.reject(entry.path, f"{self.target.name}: {error}")
            return True
        self.spool.remove(entry)
        self.failures = 0
        _LOG.info("notification delivered", extra={"target": self.target.name, "id": entry.document.get("id")})
        return True
