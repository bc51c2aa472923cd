"""Poison messages: no message that keeps failing stays in a consumed queue; it ends in the dead-letter queue.

Two counts. The gateway counts, per process, how often the handling of each message raised
(``Failures``): at ``gateway.poison_failures`` the message is dead-lettered with the last error as its
reason and deleted. A dependency outage (``is_outage``: the journal, Zaqar, Keystone or Nova unreachable,
failing or timing out) never counts: the message is not at fault, it comes back when its claim expires.
Zaqar counts claims: ``ZaqarQueues.prepare`` gives the consumed queues ``_max_claim_count``
(``gateway.max_claims``) and the dead-letter queue as their ``_dead_letter_queue``, so a message claimed that
many times without being deleted moves there as it is, whatever the cause: one that kills the process, one
the client cannot read, or one held up by an outage that long. The gateway's count comes first on up to
``max_claims / poison_failures`` replicas.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import keystoneauth1.exceptions
import openstack.exceptions
import sqlalchemy.exc
from zaqarclient.transport import errors as zaqar_errors

OUTAGES: tuple[type[BaseException], ...] = (
    OSError,  # sockets, timeouts, requests' errors
    sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError, sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
    keystoneauth1.exceptions.ClientException,
    openstack.exceptions.SDKException,
    zaqar_errors.ServiceUnavailableError, zaqar_errors.InternalServerError, zaqar_errors.UnauthorizedError,
)
"""Errors that say a dependency is down or refusing service, not that the message is bad."""

REMEMBERED = 10_000
"""Messages whose failures a process remembers at most (the least recently failed are forgotten)."""


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` (or the error it was raised from) is a dependency outage."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OUTAGES):
            return True
        seen = seen.__cause__
    return False


def describe(error: BaseException, limit: int = 1000) -> str:
    """``Type: message`` of ``error``, at most ``limit`` characters, valid UTF-8."""
    text = f"{type(error).__name__}: {error}"
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode()


class Failures:
    """How often the handling of each message raised in this process (outages excluded); thread-safe."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._remembered = remembered
        self._lock = threading.Lock()

    def add(self, message_id: str) -> int:
        """Count one more failure of ``message_id``; return its count."""
        with self._lock:
            count = self._counts.pop(message_id, 0) + 1
            self._counts[message_id] = count
            while len(self._counts) > self._remembered:
                self._counts.popitem(last=False)
            return count

    def forget(self, message_id: str) -> None:
        with self._lock:
            self._counts.pop(message_id, None)
