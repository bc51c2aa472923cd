"""The journal's write transactions: on SQLite, the writes of one process waiting at once committed together.

SQLite makes every commit durable with an fsync of its write-ahead log, and it has a single writer. While the
cloud's databases and etcd keep the disk busy (a mass evacuation), each fsync waits its turn at the disk: at
50 servers a step's write took 73-155 ms on average, nearly all of it queueing behind other writes' fsyncs,
and those waits were most of every step hop. So the writers of one process queue on a lock of this process
(each goes the moment the previous commits, instead of SQLite's busy wait that polls with sleeps of up to
100 ms), and the one whose turn comes takes every write waiting behind it into its transaction: each in a
savepoint of its own (a write that fails is rolled back alone and its error raised to its caller), then one
commit, one fsync for all. A caller returns once its own write is durable, as before; writes of one process
keep their order. A server database (MariaDB, PostgreSQL) runs each write in its own transaction: its
writers need no queue here, and its own log flush groups the commits of concurrent transactions.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from vmha.journal.database import lost_a_race

T = TypeVar("T")
Work = Callable[[Session, datetime], T]
"""A write: what it does in the session, at the journal's time."""

CONFLICT_RETRIES = 5
"""Runs of a write that lost a race to another replica (a unique key taken meanwhile, a deadlock)."""


class Writer:
    """Runs the journal's writes (see the module docstring); ``grouped``: SQLite's queue and shared commits."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime], *, grouped: bool) -> None:
        self._sessions = sessions
        self._clock = clock
        self._grouped = grouped
        self._turn = threading.Lock()
        self._waiting: list[_Write[Any]] = []
        self._waiting_lock = threading.Lock()

    def write(self, work: Work[T]) -> T:
        """Run ``work`` in a write transaction; its result once committed, or its error."""
        if not self._grouped:
            return self._alone(work)
        write = _Write(work)
        with self._waiting_lock:
            self._waiting.append(write)
        with self._turn:
            if not write.done:  # else a writer ahead of this one committed it
                with self._waiting_lock:
                    batch, self._waiting = self._waiting, []
                self._commit(batch)
        return write.outcome()

    def _alone(self, work: Work[T]) -> T:
        def run() -> T:
            with self._sessions.begin() as session:
                return work(session, self._clock())
        return _retried(run)

    def _commit(self, batch: list[_Write[Any]]) -> None:
        if len(batch) == 1:  # a write alone needs no savepoint: two statements and the ORM's nesting fewer
            self._commit_alone(batch[0])
            return
        results: list[tuple[_Write[Any], Any]] = []
        try:
            with self._sessions.begin() as session:
                for write in batch:
                    try:
                        results.append((write, self._in_savepoint(session, write.work)))
                    except Exception as error:  # this write alone is rolled back; the others go on
                        write.error = error
        except Exception as error:  # the transaction itself failed: none of the batch was written
            for write in batch:
                write.error = write.error or _own_copy(error)
        else:
            for write, value in results:
                write.value = value
        finally:
            for write in batch:
                write.done = True

    def _commit_alone(self, write: _Write[Any]) -> None:
        try:
            write.value = self._alone(write.work)
        except Exception as error:
            write.error = error
        finally:
            write.done = True

    def _in_savepoint(self, session: Session, work: Work[T]) -> T:
        def run() -> T:
            with session.begin_nested():
                return work(session, self._clock())
        return _retried(run)


def _own_copy(error: Exception) -> Exception:
    """``error`` for one of the writers of a failed batch: the same type and arguments (callers tell a database
    outage by its type), a separate object, since one raised in several threads at once mixes their tracebacks."""
    try:
        twin = copy.copy(error)
    except Exception:  # an exception type that cannot be rebuilt from its arguments: raised as it is
        return error
    return twin.with_traceback(error.__traceback__)


def _retried(run: Callable[[], T]) -> T:
    """``run``, again after losing a race to another replica, up to CONFLICT_RETRIES runs in all."""
    attempt = 1
    while True:
        try:
            return run()
        except DBAPIError as error:
            if attempt == CONFLICT_RETRIES or not lost_a_race(error):
                raise
            attempt += 1


@dataclass(eq=False)
class _Write(Generic[T]):
    """One write waiting for its commit."""

    work: Work[T]
    done: bool = False
    value: T | None = None
    error: Exception | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return cast(T, self.value)
