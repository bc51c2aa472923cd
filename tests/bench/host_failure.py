"""One host failure and its recovery on the local cloud, measured the way Masakari's figures were taken.

N HA servers (metadata ``HA_Enabled=True``) are booted on one free fake host (up, enabled, in no vmha
segment; the kvm profile's hosts with their real QEMU guests for ``hypervisor`` KVM, ``tests.bench.hypervisor``)
of a fresh segment; a real ``vmha gateway`` process runs on fresh queues and a SQLite journal
(``tests.integration.recovery_support.Recoveries``). The host's nova-compute is SIGKILLed and the
COMPUTE_HOST notification is posted at that instant (detection excluded: way (a) of issue 8); the clock
stops when every server is ACTIVE, settled, on another host. The journal then tells where the time went.
Recovery methods: ``auto`` (the scheduler picks targets among the other free hosts) and ``reserved_host``
(one spare, its nova-compute disabled beforehand as Masakari's convention wants). Segments fence by default:
``fence_host`` powers the host off through its BMC first; a fencing kind (``tests.bench.fencing``) picks the
failed host by its BMC's protocol, and a run fenced otherwise does not count as recovered. Everything made
is removed afterwards and the host restored (powered on at its BMC), whatever happened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.bench import fencing, nova_events, timeline
from tests.bench.cloud_cpu import CloudCpu, Meter
from tests.bench.fencing import Fenced, Kind
from tests.bench.hypervisor import FAKE, Hypervisor, cpu_seconds, qemu_pids
from tests.bench.nova_watch import NovaWatch, watching
from tests.bench.takeover import Takeover
from tests.cloud import catalog, helpers
from tests.cloud.layout import Layout
from tests.integration.recovery_support import Recoveries, segment
from vmha.contracts import (
    ClusterStatus,
    FailureType,
    HostEvent,
    HostPayload,
    HostStatus,
    RecoveryMethod,
    parse_settings,
)
from vmha.demo import servers
from vmha.demo.hosts import free_hosts, taken_hosts
from vmha.demo.servers import Placement
from vmha.functions.registry import resolve_flow
from vmha.journal import TERMINAL, NotificationDetail, utc_now

HOST_DOWN = HostPayload(HostEvent.STOPPED, HostStatus.NORMAL, ClusterStatus.OFFLINE)
POLL_SECONDS = 0.2
FALLBACK_POLL_SECONDS = 10.0
"""How often a wait hearing Nova's announcements (``tests.bench.nova_watch``) lists the servers anyway: a lost
announcement costs the measured RTO at most this much. Every 2 s, these listings of the servers Nova changed
(during an evacuation, nearly all of them) took a fifth of nova-api's request time at 50 servers."""
CHANGES_MARGIN = timedelta(seconds=2)
"""How far before the previous poll each ``changes-since`` listing starts (Nova keeps whole seconds)."""
SPARE_REASON = "vmha benchmark: reserved host"
HOSTS_WAIT, HOSTS_POLL_SECONDS = 600.0, 5.0
"""How long a run waits for the free hosts it needs, looking every 5 s."""
TIMEOUT = float(parse_settings({}, {}).ceilings.notification_seconds)
"""The longest wait for the servers: vmha's own ceiling of a recovery (the wait ends earlier once vmha has
ended the notification)."""


class BenchError(Exception):
    """The benchmark cannot run (e.g. too few free hosts); the message says why."""


@dataclass(frozen=True)
class Run:
    """The outcome of one failure: RTO (None unless every server recovered) and where the time went."""

    scenario: str
    """``host <method> <servers>`` or ``vm``."""
    servers: int
    recovered: int
    rto_seconds: float | None
    verdict: str
    """vmha's status of the notification at the end, with its reason if any."""
    host: str
    spans: tuple[timeline.Span, ...]
    hops: tuple[float, ...]
    nova: tuple[timeline.Span, ...]
    """Nova's own record of the recovery's server actions (``tests.bench.nova_events``)."""
    phases: timeline.Phases | None = None
    """Host failures: detection, fence, evacuation."""
    fenced: Fenced | None = None
    """Host failures: the fence the journal recorded for the host."""
    takeover: Takeover | None = None
    """Two gateway replicas (``tests.bench.replica_kill``): the kill, if any, and what the recovery did."""
    gateway_cpu_seconds: float | None = None
    """CPU time (user + system) the gateway process spent from the kill to the notification's end."""
    guest_cpu_seconds: float | None = None
    """kvm hosts: CPU time the recovered servers' QEMU processes spent from their start on the new host (after
    the kill) to the notification's end; the killed host's guests, destroyed at the fence, are not in it."""
    cloud_cpu: CloudCpu | None = None
    """What the cloud's own processes spent from the kill to the end (``tests.bench.cloud_cpu``)."""

    @property
    def cpu_per_server(self) -> float | None:
        """The gateway's CPU seconds per recovered server."""
        return None if self.gateway_cpu_seconds is None or not self.recovered else (
            self.gateway_cpu_seconds / self.recovered)


@dataclass(frozen=True)
class Plan:
    """Which hosts play which part."""

    failed: str
    members: tuple[str, ...]
    spare: str | None

    @property
    def metadata(self) -> dict[str, str]:
        if self.spare is None:
            return {"vmha:recovery_method": RecoveryMethod.AUTO.value}
        return {"vmha:recovery_method": RecoveryMethod.RESERVED_HOST.value, "vmha:reserved_hosts": self.spare}


def plan(conn: Any, method: RecoveryMethod, failing: frozenset[str] | None = None,
         hypervisor: Hypervisor = FAKE) -> Plan:
    """``choose`` among the free hosts of ``hypervisor`` (up, enabled, in no vmha segment; by default the fake
    hosts: the kvm profile's hosts run real guests and are left alone); while too few are free (others' tests
    take hosts of the shared cloud for a while), look again for up to HOSTS_WAIT seconds."""
    deadline = time.monotonic() + HOSTS_WAIT
    while True:
        try:
            mine = [host for host in free_hosts(conn, taken_hosts(conn)) if host in hypervisor.hosts]
            return choose(mine, method, failing)
        except BenchError:
            if time.monotonic() > deadline:
                raise
            time.sleep(HOSTS_POLL_SECONDS)


def choose(hosts: list[str], method: RecoveryMethod, failing: frozenset[str] | None = None) -> Plan:
    """The last of ``hosts`` in ``failing`` (None: any) fails (the tests mostly kill compute1); auto spreads over
    every host, reserved_host uses the last other one as its spare."""
    able = [host for host in hosts if failing is None or host in failing]
    if len(hosts) < 2 or not able:
        wanted = "" if failing is None else f", one of them among {sorted(failing)}"
        raise BenchError(f"need two free compute hosts (up, enabled, in no vmha segment){wanted}, have {hosts}")
    failed = able[-1]
    if method is RecoveryMethod.AUTO:
        return Plan(failed, tuple(hosts), None)
    spare = [host for host in hosts if host != failed][-1]
    return Plan(failed, (failed, spare), spare)


def candidates(layout: Layout, kind: Kind | None) -> frozenset[str] | None:
    """The hosts ``kind`` can fail (None: any)."""
    return None if kind is None else kind.hosts(layout)


def run(layout: Layout, work: Path, method: RecoveryMethod, count: int, *, timeout: float = TIMEOUT,
        parallel: int | None = None, kind: Kind | None = None, hypervisor: Hypervisor = FAKE) -> Run:
    """Fail a host holding ``count`` HA servers and recover them with ``method``; see the module docstring.
    ``parallel``: the gateway's host_failure.max_parallel_evacuations (None: vmha's default); ``kind``: the
    fencing path to measure (None: the host's own); ``hypervisor``: which hosts and guests."""
    conn = catalog.connect(layout, "vmha-admin", helpers.COMPUTE_MICROVERSION)
    try:
        chosen = plan(conn, method, candidates(layout, kind), hypervisor)
        with stage(conn, layout, work, chosen, parallel, hypervisor=hypervisor) as recoveries:
            placed = boot(conn, chosen.failed, count, hypervisor)
            with restored(conn, layout, chosen.failed, placed):
                return _fail(conn, layout, recoveries, method, placed, timeout=timeout, kind=kind,
                             hypervisor=hypervisor)
    finally:
        conn.close()
    raise AssertionError("unreachable")  # a context manager may swallow exceptions, as far as mypy knows


@contextlib.contextmanager
def stage(conn: Any, layout: Layout, work: Path, chosen: Plan, parallel: int | None = None,
          *, hypervisor: Hypervisor = FAKE) -> Iterator[Recoveries]:
    """The segment, the spare disabled, a ready gateway fencing through ``hypervisor``'s BMCs; all undone on
    the way out."""
    with staged(conn, layout, work, chosen, parallel, fencing_file=hypervisor.fencing_file(layout)) as (
            recoveries, _):
        yield recoveries


def one_gateway(recoveries: Recoveries) -> Sequence[subprocess.Popen[bytes]]:
    return (recoveries.start(),)


@contextlib.contextmanager
def staged(conn: Any, layout: Layout, work: Path, chosen: Plan, parallel: int | None = None, *,
           metadata: Mapping[str, str] | None = None, settings: Mapping[str, Any] | None = None,
           gateways: Callable[[Recoveries], Sequence[subprocess.Popen[bytes]]] = one_gateway,
           fencing_file: Path | None = None) -> Iterator[tuple[Recoveries, str]]:
    """As ``stage``, the segment with extra ``metadata`` and the gateway with extra ``settings``, its processes
    started by ``gateways`` (default one), fencing through ``fencing_file`` (default the fake hosts' BMCs);
    yields the gateway's recoveries and the segment's name."""
    # Only the HA servers move: other engineers' servers may sit on the shared cloud's hosts.
    limit = {} if parallel is None else {"max_parallel_evacuations": parallel}
    fences = {} if fencing_file is None else {"fencing_file": str(fencing_file)}
    recoveries = Recoveries(work, conn, layout, host_failure={"evacuate_all_instances": False, **limit},
                            **fences, **(settings or {}))
    try:
        with segment(conn, chosen.members, {**chosen.metadata, **(metadata or {})}) as aggregate:
            spare = chosen.spare
            if spare is not None:
                conn.compute.disable_service(helpers.compute_service(conn, spare), spare, "nova-compute",
                                             disabled_reason=SPARE_REASON)
            try:
                recoveries.wait_ready(*gateways(recoveries))
                yield recoveries, aggregate.name
            finally:
                if spare is not None:
                    conn.compute.enable_service(helpers.compute_service(conn, spare), spare, "nova-compute")
    finally:
        recoveries.close()


def boot(conn: Any, host: str, count: int, hypervisor: Hypervisor = FAKE) -> list[Placement]:
    prefix = f"vmha-bench-{uuid.uuid4().hex[:6]}"
    booting = [(f"{prefix}-{n}", host) for n in range(count)]
    return servers.boot(conn, booting, hypervisor.image, hypervisor.flavor, 120.0 + hypervisor.boot_seconds * count)


@contextlib.contextmanager
def restored(conn: Any, layout: Layout, host: str, placed: list[Placement]) -> Iterator[None]:
    """On the way out: the host back in service (if it was killed), then the servers deleted."""
    try:
        yield
    finally:
        try:
            if not helpers.host_is_running(layout, host):
                helpers.restore_host(layout, conn, host)
        finally:
            servers.delete(conn, [server.id for server in placed], 300.0)


def _fail(conn: Any, layout: Layout, recoveries: Recoveries, method: RecoveryMethod, placed: list[Placement], *,
          timeout: float, kind: Kind | None, hypervisor: Hypervisor) -> Run:
    """Kill the servers' host, post the notification at once, time the recovery, read the journal; on kvm
    hosts, what the recovered guests' QEMU processes cost."""
    host = placed[0].host
    cpu, watch = gateway_cpu(recoveries), watching(layout)
    helpers.kill_host(layout, host)
    t0, started, cloud = utc_now(), time.monotonic(), Meter(layout)
    nid = recoveries.notify(host, HOST_DOWN)
    found = outcome(conn, recoveries, method, placed, killed=(t0, started), nid=nid, timeout=timeout, kind=kind,
                    labels=hypervisor.labels, cpu_before=cpu, cloud=cloud, watch=watch)
    if hypervisor is FAKE:
        return found
    guests = cpu_seconds(qemu_pids(layout, conn, [server.id for server in placed]))
    return dataclasses.replace(found, guest_cpu_seconds=guests)


def gateway_cpu(recoveries: Recoveries) -> float:
    """CPU seconds (user + system, from /proc) the recoveries' live gateway processes have spent so far."""
    return cpu_seconds(process.pid for process in recoveries.processes)


def outcome(conn: Any, recoveries: Recoveries, method: RecoveryMethod, placed: list[Placement], *,
            killed: tuple[datetime, float], nid: str, timeout: float, kind: Kind | None = None,
            labels: tuple[str, ...] = (), cpu_before: float | None = None, cloud: Meter | None = None,
            watch: NovaWatch | None = None) -> Run:
    """Time the recovery of notification ``nid`` from ``killed`` (UTC and monotonic times of the kill); the
    scenario is ``host <method> <servers>``, then ``labels``, then ``kind``'s name. A run not fenced by
    ``kind``'s method has no RTO, its verdict says why. ``cpu_before``: the gateway's CPU seconds at the kill
    (``gateway_cpu``), to measure what the recovery cost it; ``cloud``: the meter of the cloud's processes,
    started at the kill; ``watch``: Nova's announcements, heard since before the kill (``wait_recovered``)."""
    (t0, started), host = killed, placed[0].host
    done_at = wait_recovered(conn, placed, started + timeout, lambda: recoveries.status(nid) in TERMINAL,
                             watch=watch)
    detail = recoveries.wait_ended(nid, max(60.0, started + timeout - time.monotonic()))
    cpu = None if cpu_before is None else gateway_cpu(recoveries) - cpu_before
    spent = None if cloud is None else cloud.spent()  # before the reads below, which are the benchmark's own
    now = {server.id: server for server in servers.look(conn, placed)}
    recovered = sum(servers.recovered(server, now[server.id]) for server in placed)
    fenced = fencing.fenced(recoveries.journal, nid, host, t0)
    wrong = fencing.mismatch(kind, fenced)
    measured = None if done_at is None else done_at - started
    steps = tuple(timeline.spans(detail, t0))
    name = " ".join((f"host {method.value} {len(placed)}", *labels, *(() if kind is None else (kind.name,))))
    said = verdict(detail) + (f"; {wrong}" if wrong else "")
    return Run(name, len(placed), recovered, None if wrong else measured, said, host, steps,
               tuple(timeline.hops(detail, resolve_flow(FailureType.COMPUTE_HOST, method))),
               tuple(nova_events.spans(conn, [server.id for server in placed], "evacuate", t0)),
               timeline.phases(detail, t0, steps, measured), fenced, gateway_cpu_seconds=cpu, cloud_cpu=spent)


def verdict(detail: NotificationDetail) -> str:
    """The notification's status, and its reason when there is one."""
    reason = detail.notification.status_reason
    return detail.notification.status.value + (f" ({reason})" if reason else "")


def wait_recovered(conn: Any, placed: list[Placement], deadline: float, ended: Callable[[], bool],
                   recovered_one: Callable[[str], None] | None = None, *,
                   give_up_on_error: bool = False, watch: NovaWatch | None = None) -> float | None:
    """time.monotonic() when every server was first seen recovered; None at the deadline, or once vmha ended
    the notification (e.g. failed it) without every server recovered. ``recovered_one`` is told each server's
    id the first time it is seen recovered. ``give_up_on_error`` (Nova alone, no HA service): None as soon as a
    server is seen in ERROR with no task in progress, where Nova leaves a server whose evacuation it gave up on
    (e.g. no valid host): nothing else would move it, and the wait would last until the deadline.

    With a ``watch`` that hears Nova, a server is seen where Nova last announced it, at the instant that was
    heard; Nova is listed only every ``FALLBACK_POLL_SECONDS`` (a lost announcement) and once all are heard
    recovered, to verify: a server that listing shows elsewhere is waited for again. Without one, each poll lists
    only the servers Nova changed since shortly before the previous poll (``changes-since``, Nova's timestamps
    are whole seconds): a full detailed listing of 50 servers every 0.2 s took about a third of a second of the
    single nova-api process each time and slowed the recovery it measured."""
    sightings = Sightings({server.id: server for server in placed}, give_up_on_error, recovered_one)
    listing = Listing(conn, placed[0].name.rpartition("-")[0])
    heard_from = watch if watch is not None and watch.listening else None
    next_poll = 0.0 if heard_from is None else time.monotonic() + FALLBACK_POLL_SECONDS
    while time.monotonic() < deadline:
        over = ended()
        if heard_from is not None:
            sightings.hear(heard_from)
        if time.monotonic() >= next_poll or (heard_from is not None and sightings.all_recovered):
            asked = time.monotonic()
            for found in listing.changed(everything=sightings.all_recovered):
                sightings.saw(found, asked)
            next_poll = asked + (0.0 if heard_from is None else FALLBACK_POLL_SECONDS)
        if sightings.all_recovered:  # heard: when Nova announced the last one; polled: once a poll showed it
            return time.monotonic() if heard_from is None else max(sightings.recovered.values())
        if over or sightings.given_up:
            return None
        time.sleep(POLL_SECONDS)
    return None


class Listing:
    """The benchmark's servers listed from Nova: those it changed since shortly before the previous listing, or
    every one."""

    def __init__(self, conn: Any, prefix: str) -> None:
        self._conn, self._prefix = conn, prefix
        self._since: datetime | None = None

    def changed(self, *, everything: bool = False) -> list[Placement]:
        asked = utc_now()
        query = {} if self._since is None or everything else {
            "changes_since": (self._since - CHANGES_MARGIN).isoformat()}
        found = [servers.place(server) for server in
                 self._conn.compute.servers(details=True, name=f"^{self._prefix}-", **query)]
        self._since = asked
        return found


class Sightings:
    """Where each server was last seen, and since when it has been seen recovered."""

    def __init__(self, before: dict[str, Placement], give_up_on_error: bool,
                 recovered_one: Callable[[str], None] | None) -> None:
        self.before = before
        self.recovered: dict[str, float] = {}
        self.given_up = False
        self._give_up_on_error, self._recovered_one = give_up_on_error, recovered_one
        self._seen_at: dict[str, float] = {}
        self._told: set[str] = set()

    @property
    def all_recovered(self) -> bool:
        return len(self.recovered) == len(self.before)

    def hear(self, watch: NovaWatch) -> None:
        """What ``watch`` last heard of each server."""
        for server_id in self.before:
            heard = watch.last(server_id)
            if heard is not None:
                self.saw(heard.placement, heard.at)

    def saw(self, found: Placement, at: float) -> None:
        """``found`` seen at ``at``: a listing is the truth as of when it was asked, an announcement as of when it
        was heard; an older sighting than the last one changes nothing."""
        if found.id not in self.before or at <= self._seen_at.get(found.id, float("-inf")):
            return
        self._seen_at[found.id] = at
        self.given_up = self.given_up or (self._give_up_on_error and found.status == "ERROR" and found.task is None)
        if not servers.recovered(self.before[found.id], found):
            self.recovered.pop(found.id, None)
            return
        self.recovered.setdefault(found.id, at)
        if self._recovered_one is not None and found.id not in self._told:
            self._told.add(found.id)
            self._recovered_one(found.id)
