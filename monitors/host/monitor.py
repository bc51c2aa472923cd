"""``vmha monitor host``: heartbeat into the segment's group; as its leader, report the hosts that leave.

Every member runs the same loop each ``interval_seconds``: heartbeat (joining again, and enrolling, if its
membership had expired), read the members, try the leader lock. The leader alone reads the enrollments
(enrolling any member found without one): a host enrolled but no longer a member departed (``view``), even
one the leader never saw as a member. It checks each departure through Nova and the BMC (``verdict``) and
posts a COMPUTE_HOST notification for the failed host, never for itself.

Exactly one report per departure, across leader changes: the notification id is derived from the group,
host and incarnation (every leader mints the same one), and once the sink has delivered it the leader
discharges the departure's enrollment, which makes every later leader drop it. A leader dying between
delivery and discharge makes its successor post the same id again, which the intake drops as a duplicate.

A member that cannot reach the coordination engine for ``interval_seconds x misses`` and none of the
isolation addresses either is isolated: it runs its isolation response once, until it reaches the group
again.

Independently, where the segment arms the self-fence lease (``lease``), a member that has been unable to
heartbeat for the lease stops its HA servers, isolation addresses or not, and keeps its armed marker in the
group while it heartbeats, which the gateway needs to take its absence as proof.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from tooz import coordination

from vmha.contracts import HostMonitorOptions, Notification
from vmha.monitors.host.isolation import IsolationResponse, any_reachable
from vmha.monitors.host.lease import SelfFence
from vmha.monitors.host.verdict import Evidence, decide
from vmha.monitors.host.view import Departure, GroupView

_LOG = logging.getLogger(__name__)
REFRESH_TICKS = 12
"""The list of servers to stop when isolated is refreshed every this many heartbeats."""


class Group(Protocol):
    """What the loop needs of ``coordination.SegmentGroup``; every call may raise ToozError."""

    name: str

    def heartbeat(self) -> None: ...
    def members(self) -> dict[str, str]: ...
    def enrolled(self) -> list[tuple[str, str]]: ...
    def enroll(self, host: str, incarnation: str) -> None: ...
    def lead(self) -> bool: ...
    def resign(self) -> None: ...
    def discharge(self, key: str) -> None: ...
    def arm(self, seconds: int | None) -> None: ...
    def stop(self) -> None: ...


class Probe(Protocol):
    """What the loop needs of ``checks.Checks``: the evidence about a host."""

    def evidence(self, host: str) -> Evidence: ...


class Outbox(Protocol):
    """The monitors' sink: ``send`` spools, ``drain(0)`` tells whether everything was delivered."""

    def send(self, notification: Notification) -> None: ...
    def drain(self, timeout: float) -> bool: ...


class HostMonitor:
    def __init__(self, me: str, *, group: Group, probe: Probe, outbox: Outbox, options: HostMonitorOptions,
                 response: IsolationResponse, evacuable: Callable[[], frozenset[str] | None],
                 clock: Callable[[], float] = time.monotonic, lease: SelfFence | None = None) -> None:
        self._me, self._group, self._probe, self._outbox = me, group, probe, outbox
        self._options, self._response, self._evacuable, self._clock = options, response, evacuable, clock
        self._view = GroupView(me)
        self._sent: set[str] = set()
        self._waiting: dict[str, str] = {}
        self._lost_since: float | None = None
        self._last_beat: float | None = None
        self._isolated = False
        self._ticks = 0
        self._ha: frozenset[str] = frozenset()
        self._listing: threading.Thread | None = None
        self._lease = lease or SelfFence(dict, response)  # never armed
        self._started = clock()

    @property
    def stale_after(self) -> float:
        return self._options.window_seconds + 60.0

    def once(self) -> None:
        self.tick()

    def run(self, stop: threading.Event, beat: Callable[[], None]) -> None:
        try:
            while not stop.is_set():
                self.tick()
                beat()
                stop.wait(self._options.interval_seconds)
        finally:
            self._lease.stop()
            self._group.stop()

    def tick(self) -> None:
        """One heartbeat, membership read and, as leader, one pass over the departures."""
        now = self._clock()
        self._refresh_servers()  # first: from its first heartbeat the member is armed as its segment says
        try:
            self._group.heartbeat()
            if self._stalled(now):
                self._group.resign()
            members = self._group.members()
            leading = self._group.lead()
            self._group.arm(self._lease.marker_seconds)
            enrolled = self._enrollments(members) if leading else None
        except coordination.ToozError as error:
            self._lost(now, error)
            return
        self._last_beat = now
        if self._lost_since is not None:
            _LOG.info("coordination engine reached again", extra={"isolated": self._isolated})
        self._lost_since, self._isolated = None, False
        self._lease.beat()
        if enrolled is not None:
            for departure in self._view.observe(members, enrolled):
                _LOG.info("host left the group", extra={"host": departure.host})
            self._sent &= self._view.departed.keys()  # back in the group, or discharged by another leader
            self._waiting = {key: reason for key, reason in self._waiting.items() if key in self._view.departed}
            for departure in list(self._view.departed.values()):
                self._settle(departure)

    def _enrollments(self, members: dict[str, str]) -> list[tuple[str, str]]:
        """The group's enrollments, after enrolling any member found without one."""
        enrolled = self._group.enrolled()
        for host, incarnation in members.items() - set(enrolled):
            self._group.enroll(host, incarnation)
            enrolled.append((host, incarnation))
        return enrolled

    def _stalled(self, now: float) -> bool:
        """Whether the last heartbeat is older than the lock's expiry: another member may lead by now."""
        return self._last_beat is not None and now - self._last_beat > self._options.window_seconds

    def _settle(self, departure: Departure) -> None:
        if departure.key not in self._sent:
            self._check(departure)
        elif self._outbox.drain(0):
            try:
                self._group.discharge(departure.key)
            except coordination.ToozError as error:  # still enrolled: discharged on a later pass
                _LOG.warning("cannot discharge a reported departure", extra={"host": departure.host,
                                                                              "error": str(error)})

    def _check(self, departure: Departure) -> None:
        verdict = decide(self._probe.evidence(departure.host), self._options.nova_stale_seconds)
        if verdict.payload is None:
            if self._waiting.get(departure.key) != verdict.reason:
                _LOG.warning("host left the group but is not reported", extra={
                    "host": departure.host, "reason": verdict.reason})
            self._waiting[departure.key] = verdict.reason
            return
        notification = Notification(departure.notification_id(self._group.name),
                                    f"vmha-monitor/host@{self._me}", departure.host, datetime.now(UTC),
                                    verdict.payload)
        self._outbox.send(notification)
        self._sent.add(departure.key)
        _LOG.info("host reported", extra={"host": departure.host, "id": str(notification.id),
                                          "reason": verdict.reason})

    def _refresh_servers(self) -> None:
        """Every REFRESH_TICKS heartbeats, list the servers to stop if isolated and read the segment's lease
        again. Only the first listing is
        waited for; later ones run in the background: a Nova call of a host being cut off can hang, and the
        loop must go on to notice the isolation (and stop the servers of the last listing)."""
        if self._ticks == 0:
            self._refresh()
        elif self._ticks % REFRESH_TICKS == 0 and not (self._listing and self._listing.is_alive()):
            self._listing = threading.Thread(target=self._refresh,
                                             name="vmha-host-servers", daemon=True)
            self._listing.start()
        self._ticks += 1

    def _refresh(self) -> None:
        found = self._evacuable()
        if found is not None:  # None: Nova could not be asked, the last listing stands
            self._ha = found
        self._lease.refresh()

    def _lost(self, now: float, error: Exception) -> None:
        if self._lost_since is None:
            self._lost_since = now
            _LOG.warning("coordination engine unreachable", extra={"error": str(error)})
        self._lease.lost(now - (self._started if self._last_beat is None else self._last_beat), self._ha)
        if self._isolated or now - self._lost_since < self._options.window_seconds:
            return
        if any_reachable(self._options.isolation_addresses, self._options.interval_seconds):
            return
        self._isolated = True
        _LOG.error("isolated from the coordination engine and every isolation address",
                   extra={"response": self._options.isolation_response, "servers": len(self._ha)})
        self._response.isolated(self._ha)
