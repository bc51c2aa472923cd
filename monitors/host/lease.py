"""This host's self-fence lease (``vmha.self_fence``): armed where its segment says ``required_or_selffence``.

Once the monitor has been unable to heartbeat into its group for the lease, counted on its monotonic clock
from its last successful heartbeat, it stops its HA servers (``StopHaVms``, whatever the isolation
response), once per loss. The lease is the segment's ``vmha:self_fence_seconds``, read at start and with
every server listing; the last value read stands while the segment cannot be read. ``monitor.host.
self_fence_seconds`` may only shorten it (fencing earlier is always safe).

Where a watchdog device is configured and present, it is opened (armed) while the lease is armed and
petted after each successful heartbeat only, so a host whose monitor hangs or dies is rebooted by the kernel
the watchdog's timeout after the last heartbeat: that timeout must not exceed the lease. A monitor stopped
on purpose disarms it (the magic close, ``V``). Only a lease backed by a watchdog keeps the armed marker
the survivors take as proof (``marker_seconds``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import BinaryIO

from vmha.monitors.host.isolation import IsolationResponse
from vmha.self_fence import DEFAULT_LEASE_SECONDS, lease_seconds, self_fencing

_LOG = logging.getLogger(__name__)
ReadSegment = Callable[[], Mapping[str, str] | None]
"""The segment's metadata; None when it cannot be read now, {} when there is no such segment."""


class Watchdog:
    """The Linux watchdog device at ``path``: opened when first petted, closed with the magic ``V``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._device: BinaryIO | None = None

    def pet(self) -> None:
        if self._device is None:
            self._device = open(self.path, "wb", buffering=0)  # noqa: SIM115  # held open: that arms it
            _LOG.info("watchdog armed", extra={"device": self.path})
        self._device.write(b"\0")

    def disarm(self) -> None:
        if self._device is not None:
            self._device.write(b"V")
            self._device.close()
            self._device = None


class SelfFence:
    """The lease of one host monitor: armed or not, its length, and the self-fence once it is out."""

    def __init__(self, read_segment: ReadSegment, stop: IsolationResponse, *, forced: bool = False,
                 cap_seconds: float = 0, watchdog: Watchdog | None = None) -> None:
        self._read, self._stop, self._forced = read_segment, stop, forced
        self._cap, self._watchdog = cap_seconds, watchdog
        self._armed, self._segment_seconds, self._fenced = forced, DEFAULT_LEASE_SECONDS, False

    @property
    def marker_seconds(self) -> int | None:
        """The segment's lease while armed with a watchdog (what the armed marker says), None otherwise.

        The marker is what the survivors take as proof once the host is gone for the lease; without a
        watchdog a monitor that dies (killed, out of memory) on a host that goes on running would leave its
        marker and stop nothing, so a lease without one still stops the servers of an isolated host but
        proves nothing to the others.
        """
        return self._segment_seconds if self._armed and self._watchdog is not None else None

    @property
    def seconds(self) -> float:
        """The lease this host keeps: the segment's, or the setting where it is shorter."""
        return min(self._segment_seconds, self._cap) if self._cap > 0 else self._segment_seconds

    def refresh(self) -> None:
        """Read the segment's fencing and lease again (the last values stand if it cannot be read)."""
        metadata = self._read()
        if metadata is None:
            return
        try:
            self._segment_seconds = lease_seconds(metadata)
        except ValueError as error:
            _LOG.error("segment's self-fence lease unreadable, the last one stands", extra={"error": str(error)})
        self._armed = self._forced or self_fencing(metadata)
        if not self._armed and self._watchdog is not None:
            self._watchdog.disarm()

    def beat(self) -> None:
        """A heartbeat succeeded: the lease runs again from now."""
        self._fenced = False
        if self._armed and self._watchdog is not None:
            self._watchdog.pet()

    def lost(self, since_beat: float, servers: frozenset[str]) -> None:
        """No heartbeat for ``since_beat`` seconds: stop ``servers`` once the lease is out."""
        if not self._armed or self._fenced or since_beat < self.seconds:
            return
        self._fenced = True
        _LOG.error("self-fence lease lost: stopping the HA servers", extra={
            "lease_seconds": self.seconds, "since_heartbeat": round(since_beat, 3), "servers": len(servers)})
        self._stop.isolated(servers)

    def stop(self) -> None:
        """The monitor stops on purpose: disarm the watchdog."""
        if self._watchdog is not None:
            self._watchdog.disarm()


def watchdog(path: str) -> Watchdog | None:
    """The watchdog at ``path`` where one is configured and present."""
    return Watchdog(path) if path and os.path.exists(path) else None
