"""fence_host where the BMC is silent and the segment says required_or_selffence: the host's self-fence lease
is the proof once the host has stayed out of its group for the lease + margin (fake BMC, group and time)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from tests.functions_driver import Driver
from vmha.contracts import Notification
from vmha.fencing import BmcError
from vmha.functions.lease import LeaseUnknownError, Sighting
from vmha.functions.locks import backend_url
from vmha.functions.registry import STEPS
from vmha.functions.steps import fence_host
from vmha.journal import FenceMethod, Journal, NotificationStatus
from vmha.outcomes import Done, Fail, Outcome, Retry
from vmha.self_fence import MARGIN_SECONDS, ArmedLease

from .functions_support import HA, SEGMENT, World, fail_host, host_down, make_world
from .journal_support import FakeClock
from .test_functions_fencing import CEILING, FakeBmc, fencing_file, once, recorded

__all__ = ["fencing_file"]  # fixture
LEASE = 30


class FakeGroup:
    """The failed host's segment group as the gateway reads it: a member or not, with its armed leases."""

    def __init__(self) -> None:
        self.member = False
        self.leases: tuple[ArmedLease, ...] = (ArmedLease("inc-a", LEASE),)
        self.error: LeaseUnknownError | None = None
        self.looked: list[tuple[str, str, str]] = []

    def look(self, url: str, segment: str, host: str) -> Sighting:
        self.looked.append((url, segment, host))
        if self.error:
            raise self.error
        return Sighting(self.member, self.leases)


@pytest.fixture
def world(journal: Journal, clock: FakeClock, fencing_file: Path, tmp_path: Path) -> World:
    """Locks on tooz's file driver; the group is a fake (FakeGroup)."""
    made = make_world(journal, clock, fencing_file=str(fencing_file), coordination_url=f"file://{tmp_path}/locks",
                      ceilings={"fencing_seconds": CEILING}, retry={"recheck_interval_seconds": 2})
    made.segment(fencing="required_or_selffence", self_fence_seconds=str(LEASE))
    return made


@pytest.fixture
def bmc() -> FakeBmc:
    silent = FakeBmc()
    silent.error = BmcError("BMC of compute1 (redfish http://127.0.0.1:9): connection refused")
    return silent


@pytest.fixture
def group() -> FakeGroup:
    return FakeGroup()


def run(world: World, bmc: FakeBmc, group: FakeGroup, notification: Notification, attempt: int = 2) -> Outcome:
    return once(world, bmc, notification, attempt, fence_host.Seams(bmc.connect, group.look))


def test_a_silent_bmc_and_an_expired_lease_prove_the_host_dead_before_anything_is_evacuated(
        world: World, bmc: FakeBmc, group: FakeGroup) -> None:
    server = world.nova.add_server("compute1", metadata=HA)
    fail_host(world)
    spec = dataclasses.replace(STEPS["fence_host"], run=lambda message, ctx: fence_host.fence(
        message, ctx, fence_host.Seams(bmc.connect, group.look)))
    notification = world.notification(host_down())
    started = world.clock()
    flow = Driver(world.cloud, world.journal, world.settings, world.clock, wait=world.wait,
                  steps={**STEPS, "fence_host": spec}).run(notification)
    assert flow.status is NotificationStatus.FINISHED and server.compute_host == "compute2"
    fence = world.journal.get_fence(str(notification.id), "compute1")
    assert fence is not None and fence.method is FenceMethod.SELF_FENCE
    assert fence.fenced_at - started >= timedelta(seconds=LEASE + MARGIN_SECONDS)
    assert fence.evidence["lease_seconds"] == LEASE and fence.evidence["margin_seconds"] == MARGIN_SECONDS
    assert "connection refused" in str(fence.evidence["bmc_error"])
    assert group.looked[0] == (backend_url(world.settings), SEGMENT, "compute1")  # with settings.timeouts
    assert world.nova.called("evacuate_server")  # after fence_host's Done: the driver runs the flow in order


def test_the_lease_is_due_only_after_lease_plus_margin_of_continuous_absence(
        world: World, bmc: FakeBmc, group: FakeGroup) -> None:
    notification = recorded(world)
    first = run(world, bmc, group, notification, attempt=1)
    assert isinstance(first, Retry) and "runs out at" in first.reason
    world.clock.advance(timedelta(seconds=LEASE + MARGIN_SECONDS - 1))
    assert isinstance(run(world, bmc, group, notification), Retry)
    world.clock.advance(timedelta(seconds=1))
    done = run(world, bmc, group, notification)
    assert isinstance(done, Done) and done.result["method"] == "self_fence"


@pytest.mark.parametrize("comes_back", ["rejoins", "new_incarnation"])
def test_a_host_seen_back_restarts_the_clock(world: World, bmc: FakeBmc, group: FakeGroup, comes_back: str) -> None:
    notification = recorded(world)
    assert isinstance(run(world, bmc, group, notification, attempt=1), Retry)
    world.clock.advance(timedelta(seconds=LEASE))
    if comes_back == "rejoins":
        group.member = True
        assert "still in its segment's group" in str(getattr(run(world, bmc, group, notification), "reason", ""))
        group.member = False
    else:
        group.leases = (ArmedLease("inc-b", LEASE),)  # it rejoined and left again between two looks
    assert isinstance(run(world, bmc, group, notification), Retry)  # absent again: a fresh start
    world.clock.advance(timedelta(seconds=LEASE + MARGIN_SECONDS - 1))
    assert isinstance(run(world, bmc, group, notification), Retry)
    world.clock.advance(timedelta(seconds=1))
    assert isinstance(run(world, bmc, group, notification), Done)


def test_the_longest_of_the_segment_and_the_host_lease_is_waited(
        world: World, bmc: FakeBmc, group: FakeGroup) -> None:
    group.leases = (ArmedLease("inc-a", LEASE * 2),)  # read before an operator lowered the segment's lease
    notification = recorded(world)
    run(world, bmc, group, notification, attempt=1)
    world.clock.advance(timedelta(seconds=LEASE + MARGIN_SECONDS))
    assert isinstance(run(world, bmc, group, notification), Retry)
    world.clock.advance(timedelta(seconds=LEASE))
    done = run(world, bmc, group, notification)
    assert isinstance(done, Done) and done.result["lease_seconds"] == LEASE * 2


def test_a_host_without_an_armed_lease_is_never_proven_dead_by_its_absence(
        world: World, bmc: FakeBmc, group: FakeGroup) -> None:
    group.leases = ()  # its monitor was stopped on purpose, or never armed the lease
    notification = recorded(world)
    first = run(world, bmc, group, notification, attempt=1)
    assert isinstance(first, Retry) and "holds no armed self-fence lease" in first.reason
    world.clock.advance(timedelta(seconds=CEILING + LEASE + MARGIN_SECONDS))  # the extended ceiling
    last = run(world, bmc, group, notification)
    assert isinstance(last, Fail) and "nothing is evacuated" in last.reason
    assert world.journal.get_fence(str(notification.id), "compute1") is None


def test_an_unreadable_group_is_retried(world: World, bmc: FakeBmc, group: FakeGroup) -> None:
    group.error = LeaseUnknownError("cannot read the group vmha-segment-segment-a (ToozConnectionError: down)")
    outcome = run(world, bmc, group, recorded(world), attempt=1)
    assert isinstance(outcome, Retry) and "ToozConnectionError" in outcome.reason


def test_without_coordination_the_segment_is_fenced_through_the_bmc_only(
        world: World, bmc: FakeBmc, group: FakeGroup) -> None:
    world.settings = dataclasses.replace(world.settings, coordination_url="")
    outcome = run(world, bmc, group, recorded(world), attempt=1)
    assert isinstance(outcome, Fail) and "without coordination_url" in outcome.reason
    assert group.looked == []


def test_a_segment_that_requires_the_bmc_never_looks_at_the_lease(
        world: World, bmc: FakeBmc, group: FakeGroup) -> None:
    world.segment(fencing="required", self_fence_seconds=str(LEASE))
    notification = recorded(world)
    run(world, bmc, group, notification, attempt=1)
    world.clock.advance(timedelta(seconds=CEILING))
    assert isinstance(run(world, bmc, group, notification), Fail) and group.looked == []
