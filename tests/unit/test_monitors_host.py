"""Host monitor logic: departures, verdicts, one report across leader changes, isolation (fakes at the seams)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import libvirt
import pytest
from tooz import coordination

from vmha.contracts import HostStatus, Notification, parse_settings
from vmha.fencing import PowerState
from vmha.monitors.host.coordination import SegmentGroup, group_url
from vmha.monitors.host.isolation import StopHaVms
from vmha.monitors.host.monitor import REFRESH_TICKS, HostMonitor
from vmha.monitors.host.verdict import Evidence, NovaView, decide
from vmha.monitors.host.view import GroupView

OPTIONS = parse_settings({"monitor": {"host": {"segment": "s", "interval_seconds": 1, "misses": 3}}}, {}).monitor.host


class FakeEngine:
    """The coordination engine's state shared by several members (tooz itself runs in the integration tests)."""

    def __init__(self) -> None:
        self.members: dict[str, str] = {}
        self.enrolled: set[tuple[str, str]] = set()
        self.leader: str | None = None
        self.resigned: list[str] = []
        self.armed: dict[str, int | None] = {}
        self.up = True

    def join(self, host: str, incarnation: str) -> None:
        self.members[host] = incarnation
        self.enrolled.add((host, incarnation))


class FakeGroup:
    name = "vmha-segment-s"

    def __init__(self, engine: FakeEngine, me: str) -> None:
        self.engine, self.me = engine, me

    def heartbeat(self) -> None:
        if not self.engine.up:
            raise coordination.ToozConnectionError("engine down")
        if self.me not in self.engine.members:
            self.engine.join(self.me, f"{self.me}-1")

    def members(self) -> dict[str, str]:
        return dict(self.engine.members)

    def enrolled(self) -> list[tuple[str, str]]:
        return sorted(self.engine.enrolled)

    def enroll(self, host: str, incarnation: str) -> None:
        self.engine.enrolled.add((host, incarnation))

    def lead(self) -> bool:
        self.engine.leader = self.engine.leader or self.me
        return self.engine.leader == self.me

    def resign(self) -> None:
        self.engine.resigned.append(self.me)
        if self.engine.leader == self.me:
            self.engine.leader = None

    def discharge(self, key: str) -> None:
        self.engine.enrolled = {pair for pair in self.engine.enrolled if ".".join(pair) != key}

    def arm(self, seconds: int | None) -> None:
        self.engine.armed[self.me] = seconds

    def stop(self) -> None:
        self.engine.members.pop(self.me, None)
        self.engine.enrolled = {pair for pair in self.engine.enrolled if pair[0] != self.me}


class FakeProbe:
    def __init__(self, evidence: Evidence) -> None:
        self.evidence_given = evidence

    def evidence(self, host: str) -> Evidence:
        return self.evidence_given


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self.delivered = True

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)

    def drain(self, timeout: float) -> bool:
        return self.delivered


class Recorder:
    def __init__(self) -> None:
        self.calls: list[frozenset[str]] = []

    def isolated(self, instances: frozenset[str]) -> None:
        self.calls.append(instances)


DEAD = Evidence(NovaView(reachable=True, down=True), PowerState.ON)


def monitor(engine: FakeEngine, me: str, outbox: Outbox, *, evidence: Evidence = DEAD,
            response: Recorder | None = None, clock: list[float] | None = None,
            evacuable: Callable[[], frozenset[str] | None] = lambda: frozenset({"vm-1"})) -> HostMonitor:
    now = clock or [0.0]
    return HostMonitor(me, group=FakeGroup(engine, me), probe=FakeProbe(evidence), outbox=outbox, options=OPTIONS,
                       response=response or Recorder(), evacuable=evacuable, clock=lambda: now[0])


def test_a_departure_is_noticed_once_and_dropped_when_the_host_comes_back() -> None:
    view = GroupView("a")
    enrolled = [("a", "1"), ("b", "1"), ("c", "1")]
    assert view.observe({"a": "1", "b": "1", "c": "1"}, enrolled) == []
    [gone] = view.observe({"a": "1", "c": "1"}, enrolled)
    assert (gone.host, gone.incarnation) == ("b", "1")
    assert gone.notification_id("g") == gone.notification_id("g") != gone.notification_id("other-group")
    assert view.observe({"a": "1", "c": "1"}, enrolled) == []  # noticed once
    view.observe({"a": "1", "b": "2", "c": "1"}, [("a", "1"), ("b", "2"), ("c", "1")])
    assert view.departed == {}


def test_the_leader_enrolls_a_member_without_enrollment_so_its_departure_is_reported() -> None:
    engine, outbox = FakeEngine(), Outbox()
    leader = monitor(engine, "a", outbox)
    engine.members["old"] = "old-1"  # joined without enrolling: a monitor from before enrollments
    leader.tick()
    assert ("old", "old-1") in engine.enrolled
    del engine.members["old"]
    leader.tick()
    assert [n.hostname for n in outbox.sent] == ["old"]


def test_a_host_the_leader_never_saw_as_a_member_is_reported_from_its_enrollment() -> None:
    engine, outbox = FakeEngine(), Outbox()
    leader = monitor(engine, "a", outbox)
    leader.tick()
    engine.join("c", "c-1")  # c joins and dies between two of the leader's passes
    del engine.members["c"]
    leader.tick()
    assert [n.hostname for n in outbox.sent] == ["c"]
    leader.tick()  # delivered: the enrollment is discharged, nothing is reported again
    assert engine.enrolled == {("a", "a-1")} and len(outbox.sent) == 1


@pytest.mark.parametrize(("evidence", "status"), [
    (Evidence(NovaView(True, down=False, report_age_seconds=1), PowerState.OFF), HostStatus.NORMAL),
    (Evidence(NovaView(True, down=True), PowerState.OFF), HostStatus.NORMAL),
    (Evidence(NovaView(False), PowerState.OFF), HostStatus.NORMAL),
    (Evidence(NovaView(True, down=True), None), HostStatus.UNKNOWN),  # Nova alone: not proof of power off
    (Evidence(NovaView(True, down=True), PowerState.ON), HostStatus.UNKNOWN),
    (Evidence(NovaView(True, down=False, report_age_seconds=30), PowerState.ON), HostStatus.UNKNOWN),
    (Evidence(NovaView(True, down=False, report_age_seconds=2), PowerState.ON), None),
    (Evidence(NovaView(False), None), None),
])
def test_only_independent_evidence_of_death_makes_a_report(evidence: Evidence, status: HostStatus | None) -> None:
    verdict = decide(evidence, stale_after=20)
    assert (verdict.payload.host_status if verdict.payload else None) is status


def ticks(*monitors: HostMonitor, rounds: int = 2) -> None:
    for _ in range(rounds):
        for each in monitors:
            each.tick()


def test_the_leader_reports_once_and_a_new_leader_does_not_report_again() -> None:
    engine, outbox = FakeEngine(), Outbox()
    monitors = {host: monitor(engine, host, outbox) for host in ("a", "b", "c")}
    ticks(*monitors.values())
    del engine.members["c"]  # c died: its monitor runs no more
    ticks(monitors["a"], monitors["b"], rounds=3)
    assert [(n.hostname, n.source) for n in outbox.sent] == [("c", "vmha-monitor/host@a")]
    engine.leader = None
    del engine.members["a"]
    for _ in range(3):
        monitors["b"].tick()
    assert [n.hostname for n in outbox.sent] == ["c", "a"]  # b took over: a reported, c not again


def test_a_report_not_yet_delivered_is_sent_again_by_the_next_leader_with_the_same_id() -> None:
    engine, outbox = FakeEngine(), Outbox()
    outbox.delivered = False
    first, second = monitor(engine, "a", outbox), monitor(engine, "b", outbox)
    engine.join("c", "c-1")
    ticks(first, second)
    del engine.members["c"]
    ticks(first, second, rounds=1)
    engine.leader = None
    del engine.members["a"]
    second.tick()
    reports = [n for n in outbox.sent if n.hostname == "c"]
    assert len(reports) == 2 and reports[0].id == reports[1].id  # the intake drops the second as a duplicate


def test_a_host_nova_sees_alive_is_not_reported() -> None:
    engine, outbox = FakeEngine(), Outbox()
    alive = Evidence(NovaView(True, down=False, report_age_seconds=1), PowerState.ON)
    leader = monitor(engine, "a", outbox, evidence=alive)
    engine.join("b", "b-1")
    leader.tick()
    del engine.members["b"]
    ticks(leader)
    assert outbox.sent == []


def test_a_member_whose_heartbeats_stalled_past_the_lock_expiry_resigns_the_lead() -> None:
    engine, clock = FakeEngine(), [0.0]
    leader = monitor(engine, "a", Outbox(), clock=clock)
    resigned_at = []
    for second in (0.0, 2.0, 4.5, 9.0, 10.0):
        clock[0] = second
        leader.tick()
        resigned_at += [second] * len(engine.resigned)
        engine.resigned.clear()
    assert resigned_at == [9.0]  # 4.5 s without a heartbeat: past the 3 s expiry, the lock may have moved on
    assert engine.leader == "a"  # and it leads again when nobody else took the lock


def test_isolation_response_runs_once_after_the_window_then_rearms() -> None:
    engine, response, clock = FakeEngine(), Recorder(), [0.0]
    isolated = monitor(engine, "a", Outbox(), response=response, clock=clock)
    isolated.tick()
    engine.up = False
    for second in range(1, 8):
        clock[0] = float(second)
        isolated.tick()
    assert response.calls == [frozenset({"vm-1"})]
    engine.up = True
    isolated.tick()
    engine.up = False
    for second in range(10, 14):
        clock[0] = float(second)
        isolated.tick()
    assert len(response.calls) == 2


def test_a_hanging_server_listing_does_not_hold_up_the_isolation_response() -> None:
    """Listings after the first run in the background: one hanging on a dead link (here: until released)
    leaves the loop free to notice the isolation and stop the servers of the last listing."""
    engine, response, clock, release = FakeEngine(), Recorder(), [0.0], threading.Event()
    first = [frozenset({"vm-1"})]

    def evacuable() -> frozenset[str]:
        if first:
            return first.pop()
        release.wait(30)
        return frozenset({"vm-2"})

    isolated = monitor(engine, "a", Outbox(), response=response, clock=clock, evacuable=evacuable)
    for _ in range(REFRESH_TICKS + 1):  # the last tick starts the second listing, which hangs
        isolated.tick()
    engine.up = False
    for second in range(1, 8):
        clock[0] = float(second)
        isolated.tick()
    release.set()
    assert response.calls == [frozenset({"vm-1"})]


def test_stop_ha_vms_destroys_the_listed_domains() -> None:
    """libvirt's test driver: a real libvirt connection with one running domain, 'test'."""
    conn = libvirt.open("test:///default")
    try:
        domain = conn.lookupByName("test")
        assert domain.isActive()
        StopHaVms("test:///default").isolated(frozenset({domain.UUIDString(), "00000000-0000-0000-0000-00000000"}))
        assert not conn.lookupByName("test").isActive()
        domain.create()
    finally:
        conn.close()


def test_membership_and_lock_expire_after_the_missed_heartbeats() -> None:
    url = group_url("etcd3+http://127.0.0.1:2379?timeout=7", 1.5, 3)
    assert "membership_timeout=5" in url and "lock_timeout=5" in url and "timeout=7" in url


def test_an_unreachable_etcd_is_a_tooz_error_the_loop_handles() -> None:
    """tooz's etcd3 driver lets etcd3gw's connection errors out of start and heartbeat; the group turns them
    into ToozError, which the loop counts towards isolation (it used to end the monitor)."""
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    group = SegmentGroup(group_url(f"etcd3+http://127.0.0.1:{port}", 1, 3), "vmha-segment-unit", "compute1")
    with pytest.raises(coordination.ToozError, match="ConnectionFailedError"):
        group.heartbeat()
