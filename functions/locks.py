"""Locks between gateway replicas (and worker threads) on tooz, at ``settings.coordination_url``.

Where two runs could act at once on the same shared state, the step takes one lock for the length of one
run, never across steps: what must outlive the run is written to the journal under the lock, so that every
replica reads the same answer afterwards.

- ``Scope.HOST``: intake admits one recovery per failed host at a time;
- ``Scope.RESERVED_HOSTS``: one recovery of a segment at a time chooses, takes or gives back a spare;
- ``Scope.EVACUATIONS``: one run at a time counts a host recovery's evacuations in flight and takes a slot;
- ``Scope.FAILBACK``: one failback of a host is checked and started at a time (``vmha.failback``).

One tooz coordinator per process and URL, started on first use with its heartbeat thread, which keeps a
live holder's locks; a dead holder's lock expires after ``lock_timeout`` seconds (``LOCK_TIMEOUT`` unless
the URL sets it). With ``file://`` the OS frees a dead process's lock at once. A lock that stays busy for
``WAIT_SECONDS``, or a backend that cannot be reached, makes the step Retry.

An empty ``coordination_url`` takes the same locks inside this process only (``_LocalLocks``): exact for
one gateway process and its worker threads, which is all that may run without a coordination backend.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from typing import TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import tenacity  # tooz's own retry library (its etcd3 driver raises RetryError when a wait runs out)
from tooz import coordination

from vmha.context import StepContext
from vmha.contracts import Settings
from vmha.outcomes import Retry

LOCK_TIMEOUT = 10
"""Seconds a lock outlives its holder's last heartbeat (tooz refreshes live holders' locks about every
``LOCK_TIMEOUT / 2`` s)."""
WAIT_SECONDS = 10.0
"""How long a run waits for a busy lock before it retries later (every lock is held for milliseconds to a
second or so: a few journal reads and writes, at most a few Nova calls)."""

T = TypeVar("T")
_coordinators: dict[str, coordination.CoordinationDriver] = {}
_guard = threading.Lock()


class Scope(StrEnum):
    """What a lock protects; the lock's name is the scope and the key it is taken for."""

    HOST = "host"
    RESERVED_HOSTS = "reserved-hosts"
    EVACUATIONS = "evacuations"
    FAILBACK = "failback"


class LockUnavailableError(Exception):
    """The lock stayed busy, or the coordination backend failed (``outage``): the run should be retried later."""

    def __init__(self, message: str, *, outage: bool = False) -> None:
        super().__init__(message)
        self.outage = outage


def lock_name(scope: Scope, key: str) -> str:
    """The tooz lock name of ``scope`` for ``key`` (quoted: the file driver makes it a file name)."""
    return f"vmha-{scope.value}-{quote(key, safe='')}"


def backend_url(settings: Settings) -> str:
    """``settings.coordination_url`` with request timeouts of ``settings.timeouts.coordination_seconds``
    (etcd3's ``timeout``, Redis's ``socket_timeout``) where the URL sets none; empty stays empty."""
    if not settings.coordination_url:
        return ""
    seconds = str(math.ceil(settings.timeouts.coordination_seconds))
    return with_options(settings.coordination_url, {"timeout": seconds, "socket_timeout": seconds})


def with_lock_timeout(url: str) -> str:
    """``url`` with ``lock_timeout=LOCK_TIMEOUT`` unless it sets one."""
    return with_options(url, {"lock_timeout": str(LOCK_TIMEOUT)})


def with_options(url: str, defaults: Mapping[str, str]) -> str:
    """``url`` with the driver options of ``defaults`` it does not set itself."""
    parts = urlsplit(url)
    options = {**defaults, **dict(parse_qsl(parts.query))}
    return urlunsplit(parts._replace(query=urlencode(options)))


class _LocalLocks:
    """Named locks between the threads of this process, each kept only while a thread holds or awaits it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def held(self, name: str, wait: float) -> Iterator[None]:
        """Hold ``name`` for the block; LockUnavailableError when another thread holds it for ``wait`` seconds."""
        with self._guard:
            lock, users = self._locks.get(name, (threading.Lock(), 0))
            self._locks[name] = (lock, users + 1)
        try:
            if not lock.acquire(timeout=wait):
                raise LockUnavailableError(f"lock {name} still held in this gateway after {wait:g} s")
            try:
                yield
            finally:
                lock.release()
        finally:
            with self._guard:
                users = self._locks[name][1] - 1
                if users:
                    self._locks[name] = (lock, users)
                else:
                    del self._locks[name]


_local = _LocalLocks()


@contextlib.contextmanager
def held(url: str, name: str, wait: float = WAIT_SECONDS) -> Iterator[None]:
    """Hold the lock ``name`` on ``url`` for the block (in this process only when ``url`` is empty).

    Raises LockUnavailableError when the lock is still busy after ``wait`` seconds or the backend fails.
    """
    if not url:
        with _local.held(name, wait):
            yield
        return
    try:
        lock = coordinator(url).get_lock(name.encode())
        taken = lock.acquire(wait)  # type: ignore[arg-type]  # a float is a wait in seconds on every driver
    except tenacity.RetryError:  # how the etcd3 driver says the wait ran out
        taken = False
    except (coordination.ToozError, RuntimeError) as error:  # RuntimeError: no tooz driver for the URL
        raise LockUnavailableError(f"coordination backend unavailable ({type(error).__name__}: {error})",
                                   outage=True) from error
    if not taken:
        raise LockUnavailableError(f"lock {name} still held elsewhere after {wait:g} s")
    try:
        yield
    finally:
        with contextlib.suppress(coordination.ToozError):  # unreleased, it expires after lock_timeout
            lock.release()


def exclusive(ctx: StepContext, scope: Scope, key: str, body: Callable[[], T]) -> T | Retry:
    """``body()`` under the lock of ``scope`` for ``key``; Retry after the recheck interval if unavailable (an
    outage's when the backend failed)."""
    try:
        with held(backend_url(ctx.settings), lock_name(scope, key)):
            return body()
    except LockUnavailableError as error:
        return Retry(str(error), ctx.settings.retry.recheck_interval_seconds, outage=error.outage)


def coordinator(url: str) -> coordination.CoordinationDriver:
    """This process's started coordinator for ``url`` (raises ToozError when it cannot start, RuntimeError
    when no driver serves the URL)."""
    with _guard:
        found = _coordinators.get(url)
        if found is None:
            member = f"vmha-gateway-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            found = coordination.get_coordinator(with_lock_timeout(url), member.encode())
            found.start(start_heart=True)
            _coordinators[url] = found
        return found
