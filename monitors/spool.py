"""A durable FIFO of JSON documents on disk: the monitors' promise that no notification is lost.

One file per document, named ``<nanoseconds>-<uuid>.json``: sorting the names gives the order of arrival,
also across processes sharing the directory. A file is written to a temporary name, fsync'd, renamed and
the directory fsync'd, so after ``append`` returns the document survives a crash or power loss; removal
unlinks and fsyncs the directory again. A file that cannot be read back is moved to ``rejected/`` (never
deleted), as is a document its target refused for good. ``lock()`` gives one process at a time the right
to deliver, so several monitor processes may share one spool.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LOG = logging.getLogger(__name__)
_SUFFIX = ".json"
REJECTED = "rejected"


@dataclass(frozen=True)
class SpoolEntry:
    """One spooled document and the file that holds it."""

    path: Path
    document: dict[str, Any]


class Spool:
    """A spool directory (created if missing)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        (directory / REJECTED).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._last_stamp = 0

    def append(self, document: dict[str, Any]) -> Path:
        """Store ``document`` durably at the end of the queue; returns its file."""
        data = json.dumps(document, separators=(",", ":")).encode()
        path = self.directory / f"{self._stamp():020d}-{uuid.uuid4().hex}{_SUFFIX}"
        temporary = self.directory / f".{path.name}.tmp"
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.rename(path)
        _fsync_directory(self.directory)
        return path

    def pending(self) -> list[SpoolEntry]:
        """Every stored document in order of arrival; unreadable files go to ``rejected/``."""
        entries = []
        for path in sorted(self.directory.glob("[0-9]*" + _SUFFIX)):
            try:
                document = json.loads(path.read_bytes())
            except FileNotFoundError:  # delivered meanwhile by another process
                continue
            except ValueError as error:
                self.reject(path, f"unreadable: {error}")
                continue
            entries.append(SpoolEntry(path, document))
        return entries

    def remove(self, entry: SpoolEntry) -> None:
        """Forget a delivered document."""
        entry.path.unlink(missing_ok=True)
        _fsync_directory(self.directory)

    def reject(self, path: Path, reason: str) -> None:
        """Move a document that can never be delivered aside, keeping it for the operator."""
        target = self.directory / REJECTED / path.name
        path.rename(target)
        _fsync_directory(self.directory)
        _LOG.error("spooled notification rejected", extra={"file": str(target), "reason": reason})

    @contextmanager
    def lock(self) -> Iterator[bool]:
        """Try to become this spool's only deliverer; yields whether that worked (never blocks)."""
        with (self.directory / ".deliver.lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _stamp(self) -> int:
        with self._lock:
            self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
            return self._last_stamp


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
