"""One failover segment's tooz group: membership with heartbeats, the leader lock, and report markers.

Works on tooz's etcd3 (``etcd3+http://``, through etcd's gRPC gateway) and Redis drivers. Membership and
the leader lock expire ``interval x misses`` after the last heartbeat (rounded up to whole seconds: etcd
leases count in seconds), so a dead member leaves the group, and a dead leader frees the lock, in that time.
Every member also enrolls when it joins: an empty group named after its host and incarnation (creating a group
is atomic on both drivers, and unlike membership it never expires). A member enrolled but no longer in the
group has departed, whoever was watching when it joined: a leader that never saw the host as a member (it
joined and died between two of the leader's reads) still finds it. The member removes its enrollment when it
stops cleanly or joins again; the leader, once the departure is reported (``discharge``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tooz import coordination
from tooz.locking import Lock

from vmha.self_fence import ArmedLease, armed_leases, armed_marker
from vmha.tooz_errors import as_tooz_errors

_LOG = logging.getLogger(__name__)


def group_url(url: str, interval: float, misses: int) -> str:
    """``url`` with membership and lock timeouts set from the heartbeat (options already in it win)."""
    expiry = math.ceil(interval * misses)
    parts = urlsplit(url)
    options = {"membership_timeout": str(expiry), "lock_timeout": str(expiry),
               "timeout": str(max(1, math.ceil(interval))), "socket_timeout": str(max(1, math.ceil(interval)))}
    options.update(dict(parse_qsl(parts.query)))
    return urlunsplit(parts._replace(query=urlencode(options)))


class SegmentGroup:
    """This host's membership of the group ``name``; every call may raise ``coordination.ToozError``."""

    def __init__(self, url: str, name: str, me: str) -> None:
        self.name = name
        self.me = me
        self.incarnation = ""
        self._group = name.encode()
        self._coordinator = coordination.get_coordinator(url, me.encode())
        self._leader: Lock | None = None  # Redis hands out locks only once started
        self._started = False
        self._leading = False
        self._armed: str | None = None

    def heartbeat(self) -> None:
        """Start or refresh the membership (re-joining under a new incarnation if it had expired)."""
        with as_tooz_errors():
            if not self._started:
                self._coordinator.start(start_heart=False)
                self._started = True
                self._leader = self._coordinator.get_lock(self._group + b".leader")
            self._coordinator.heartbeat()
        members = self._members()
        if self.me not in members or members[self.me] != self.incarnation:
            self._join()

    def members(self) -> dict[str, str]:
        """Host -> incarnation of every member."""
        return self._members()

    def lead(self) -> bool:
        """Whether this host holds the leader lock (taking it when free; heartbeats keep it).

        A leader that stalls past the lock's expiry may share the role with its successor until its next
        heartbeat, when it resigns: the report markers and the shared notification ids keep that from
        duplicating a recovery.
        """
        if self._leader is not None:
            self._leading = self._leading or bool(self._leader.acquire(blocking=False))
        return self._leading

    def resign(self) -> None:
        """Stop leading (after a stall the lock may have expired and passed on); ``lead`` may take it again."""
        if self._leading and self._leader is not None:
            self._leading = False
            with contextlib.suppress(coordination.ToozError):
                self._leader.release()

    def enrolled(self) -> list[tuple[str, str]]:
        """(host, incarnation) of every enrollment: members, and the departed not yet discharged."""
        prefix = self._enrollment("")
        with as_tooz_errors():
            names = self._groups()
        pairs = [name[len(prefix):].rpartition(".") for name in names if name.startswith(prefix)]
        return [(host, incarnation) for host, _, incarnation in pairs if host and incarnation]

    def enroll(self, host: str, incarnation: str) -> None:
        """Enroll a member that has not (it died between joining and enrolling, or runs a monitor from before
        enrollments): from now on its departure is seen."""
        with as_tooz_errors(), contextlib.suppress(coordination.GroupAlreadyExist):
            self._coordinator.create_group(self._enrollment(f"{host}.{incarnation}").encode()).get()

    def discharge(self, key: str) -> None:
        """Remove the enrollment of the departure ``key`` (``host.incarnation``): it is reported."""
        with as_tooz_errors(), contextlib.suppress(coordination.GroupNotCreated):
            self._coordinator.delete_group(self._enrollment(key).encode()).get()

    def arm(self, seconds: int | None) -> None:
        """Keep this incarnation's armed marker for a lease of ``seconds`` (None: no marker)."""
        wanted = None if seconds is None else armed_marker(self.name, self.me, ArmedLease(self.incarnation, seconds))
        if wanted == self._armed:
            return
        with as_tooz_errors():
            self._disarm()
            if wanted is not None:
                with contextlib.suppress(coordination.GroupAlreadyExist):
                    self._coordinator.create_group(wanted.encode()).get()
        self._armed = wanted

    def stop(self) -> None:
        """Disarm, leave the group and free the lock, so the others know at once (best effort)."""
        if not self._started:
            return
        try:
            with as_tooz_errors():
                self._disarm()
                if self._leading and self._leader is not None:
                    self._leader.release()
                self._coordinator.leave_group(self._group).get()
                self._delete_own_enrollments()  # a clean stop is no departure
        except coordination.ToozError:
            pass
        finally:
            self._coordinator.stop()

    def _members(self) -> dict[str, str]:
        try:
            hosts = self._coordinator.get_members(self._group).get()
        except coordination.GroupNotCreated:
            return {}
        found = {}
        for host in hosts:
            try:
                capabilities = self._coordinator.get_member_capabilities(self._group, host).get()
            except coordination.MemberNotJoined:
                continue  # left between the two reads
            found[host.decode()] = str((capabilities or {}).get("incarnation", ""))
        return found

    def _join(self) -> None:
        with contextlib.suppress(coordination.GroupAlreadyExist):
            self._coordinator.create_group(self._group).get()
        self._delete_own_enrollments()  # back in the group: its earlier departures are moot
        self.incarnation = uuid.uuid4().hex
        try:
            self._coordinator.join_group(self._group, {"incarnation": self.incarnation}).get()
        except coordination.MemberAlreadyExist:
            self._coordinator.update_capabilities(self._group, {"incarnation": self.incarnation}).get()
        self.enroll(self.me, self.incarnation)  # after joining: never a departure by mistake
        _LOG.info("joined the group", extra={"group": self.name, "incarnation": self.incarnation})

    def _delete_own_enrollments(self) -> None:
        self._delete([self._enrollment(f"{host}.{incarnation}") for host, incarnation in self.enrolled()
                      if host == self.me])

    def _disarm(self) -> None:
        leases = armed_leases(self.name, self.me, self._groups())
        self._delete([armed_marker(self.name, self.me, lease) for lease in leases])

    def _delete(self, names: list[str]) -> None:
        """Delete these groups (this host's markers; names parsed whole, so another host whose name only starts
        like this one keeps its own)."""
        for name in names:
            with contextlib.suppress(coordination.ToozError):  # another member may have deleted it first
                self._coordinator.delete_group(name.encode()).get()

    def _groups(self) -> list[str]:
        return [group.decode() for group in self._coordinator.get_groups().get()]

    def _enrollment(self, key: str) -> str:
        return f"{self.name}.enrolled.{key}"
