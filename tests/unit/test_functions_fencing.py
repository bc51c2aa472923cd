"""fence_host: no evacuation without a BMC's word that the failed host is off (fake Nova, fake BMC)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from tests.functions_driver import Driver
from vmha.contracts import Notification, StepMessage
from vmha.fencing import BmcAccess, BmcAuthError, BmcError, PowerState
from vmha.functions.nova import FIRST_RECHECK_SECONDS
from vmha.functions.registry import HOST_AUTO, STEPS
from vmha.functions.steps import fence_host
from vmha.journal import Journal, NewNotification, NotificationStatus, StepClaim, StepDone, StepKey, StepStatus
from vmha.outcomes import Done, Fail, Outcome, Retry

from .functions_support import HA, SEGMENT, World, fail_host, host_down, make_world, settings
from .journal_support import FakeClock

SECRET = "bmc-secret-42"
CEILING = 60


class FakeBmc:
    """A scripted BMC: the real emulators (sushy-tools, pyghmi) run in the integration tests, outages don't."""

    def __init__(self) -> None:
        self.state = PowerState.ON
        self.lag = 0  # reads that still report ON after a power off
        self.error: BmcError | None = None
        self.offs = 0
        self.accessed: list[BmcAccess] = []

    def connect(self, access: BmcAccess) -> FakeBmc:
        self.accessed.append(access)
        return self

    def power_state(self) -> PowerState:
        if self.error:
            raise self.error
        if self.lag:
            self.lag -= 1
            return PowerState.ON
        return self.state

    def power_off(self) -> None:
        if self.error:
            raise self.error
        self.offs += 1
        self.state = PowerState.OFF

    def power_on(self) -> None:
        self.state = PowerState.ON


@pytest.fixture
def fencing_file(tmp_path: Path) -> Path:
    path = tmp_path / "fencing.yaml"
    path.write_text(f"hosts:\n  compute1: {{protocol: redfish, address: 'http://127.0.0.1:9', username: admin, "
                    f"password: {SECRET}}}\n")
    return path


@pytest.fixture
def world(journal: Journal, clock: FakeClock, fencing_file: Path) -> World:
    made = make_world(journal, clock, fencing_file=str(fencing_file), ceilings={"fencing_seconds": CEILING},
                      retry={"recheck_interval_seconds": 2})
    made.segment(fencing="required")
    return made


@pytest.fixture
def bmc() -> FakeBmc:
    return FakeBmc()


def driver(world: World, bmc: FakeBmc) -> Driver:
    """The test runtime with fence_host talking to ``bmc``."""
    spec = dataclasses.replace(STEPS["fence_host"],
                               run=lambda message, ctx: fence_host.fence(message, ctx, fence_host.Seams(bmc.connect)))
    return Driver(world.cloud, world.journal, world.settings, world.clock, wait=world.wait,
                  steps={**STEPS, "fence_host": spec})


def recorded(world: World) -> Notification:
    """A host-down notification of compute1 in the journal, with its segment as intake records it."""
    notification = world.notification(host_down())
    new = dataclasses.replace(NewNotification.of(notification), segment=SEGMENT)
    world.journal.record_notification(new, dedup_window=timedelta(0), terminal_within=timedelta(hours=1))
    return notification


def once(world: World, bmc: FakeBmc, notification: Notification, attempt: int = 1,
         seams: fence_host.Seams | None = None) -> Outcome:
    """One run of fence_host, as the runtime makes it (talking to ``bmc`` unless other ``seams`` are given)."""
    flow = HOST_AUTO.steps
    message = StepMessage(notification.id, "fence_host", attempt, flow, flow.index("fence_host"),
                          world.clock() + timedelta(hours=1))
    return fence_host.fence(message, world.context(notification), seams or fence_host.Seams(bmc.connect))


def test_the_host_is_powered_off_before_anything_is_evacuated(world: World, bmc: FakeBmc) -> None:
    servers = [world.nova.add_server("compute1", metadata=HA) for _ in range(2)]
    fail_host(world)
    run = driver(world, bmc).run(world.notification(host_down()))
    assert run.status is NotificationStatus.FINISHED
    assert (bmc.state, bmc.offs) == (PowerState.OFF, 1)
    assert [access.host for access in bmc.accessed] == ["compute1"]
    fenced = run.of("fence_host")
    assert isinstance(fenced, Done)
    assert fenced.result == {"host": "compute1", "bmc": "redfish http://127.0.0.1:9", "power": "off",
                             "method": "redfish", "powered_off": True}
    steps = [step for step, _instance, _outcome in run.outcomes]
    assert steps.index("fence_host") < steps.index("disable_compute_service") < steps.index("evacuate_instance")
    assert {server.compute_host for server in servers} == {"compute2"}


def test_a_host_already_off_is_not_powered_off_again(world: World, bmc: FakeBmc) -> None:
    bmc.state = PowerState.OFF
    outcome = once(world, bmc, recorded(world))
    assert isinstance(outcome, Done) and outcome.result["powered_off"] is False
    assert bmc.offs == 0


def test_a_power_off_the_bmc_has_not_applied_yet_is_rechecked(world: World, bmc: FakeBmc) -> None:
    notification = recorded(world)
    bmc.lag = 2
    first = once(world, bmc, notification)
    assert isinstance(first, Retry) and first.delay == FIRST_RECHECK_SECONDS
    assert "still reports it powered on" in first.reason
    second = once(world, bmc, notification, attempt=2)
    assert isinstance(second, Done) and bmc.offs == 1  # the second run saw the host off: no second power-off


def test_a_host_that_never_goes_off_fails_at_the_ceiling(world: World, bmc: FakeBmc) -> None:
    notification = recorded(world)
    bmc.lag = 1000
    assert isinstance(once(world, bmc, notification), Retry)
    world.clock.advance(timedelta(seconds=CEILING))
    outcome = once(world, bmc, notification, attempt=2)
    assert isinstance(outcome, Fail)
    assert f"not confirmed within {CEILING} s" in outcome.reason and "nothing is evacuated" in outcome.reason


def test_an_unreachable_bmc_is_retried_until_the_ceiling_then_the_recovery_fails(
        world: World, bmc: FakeBmc) -> None:
    server = world.nova.add_server("compute1", metadata=HA)
    fail_host(world)
    bmc.error = BmcError("BMC of compute1 (redfish http://127.0.0.1:9): connection refused")
    run = driver(world, bmc).run(world.notification(host_down()))
    assert run.status is NotificationStatus.FAILED
    outcome = run.of("fence_host")
    assert isinstance(outcome, Fail) and "connection refused" in outcome.reason
    assert server.compute_host == "compute1" and world.nova.called("evacuate_server") == []
    assert world.nova.service_by_host["compute1"].is_forced_down is False


def test_refused_credentials_fail_at_once_without_the_secret(world: World, bmc: FakeBmc) -> None:
    bmc.error = BmcAuthError("BMC of compute1 (redfish http://127.0.0.1:9): 401 Incorrect username or password")
    outcome = once(world, bmc, recorded(world))
    assert isinstance(outcome, Fail) and "refused the credentials" in outcome.reason
    assert SECRET not in outcome.reason and bmc.offs == 0


@pytest.mark.parametrize(("content", "words"), [
    (None, "no fencing file is configured"),
    ("hosts: {}\n", "has no BMC for it"),
    ("hosts: {compute1: {protocol: telnet}}\n", "is invalid"),
    ("missing", "cannot read the fencing file"),
])
def test_without_a_known_bmc_the_recovery_fails_at_once(
        world: World, bmc: FakeBmc, tmp_path: Path, content: str | None, words: str) -> None:
    path = tmp_path / "other-fencing.yaml"
    if content not in (None, "missing"):
        path.write_text(str(content))
    world.settings = settings(fencing_file="" if content is None else str(path))
    outcome = once(world, bmc, recorded(world))
    assert isinstance(outcome, Fail) and words in outcome.reason and "compute1" in outcome.reason
    assert bmc.accessed == []


def test_a_segment_that_opts_out_is_skipped_and_the_journal_says_why(world: World, bmc: FakeBmc) -> None:
    world.segment(fencing="disabled")
    world.nova.add_server("compute1", metadata=HA)
    fail_host(world)
    notification = world.notification(host_down())
    run = driver(world, bmc).run(notification)
    assert run.status is NotificationStatus.FINISHED and bmc.accessed == []
    detail = world.journal.get_notification(str(notification.id))
    assert detail is not None
    [step] = [step for step in detail.steps if step.key.step_id == "fence_host"]
    assert step.status is StepStatus.SKIPPED
    assert "opts out of fencing" in str((step.result or {})["reason"])


def test_a_second_replica_neither_fences_again_nor_contradicts_the_first(world: World, bmc: FakeBmc) -> None:
    notification = recorded(world)
    key = StepKey(str(notification.id), "fence_host")
    crashed = world.journal.begin_step(key, timedelta(seconds=5))  # replica A: powers off, dies unrecorded
    assert isinstance(once(world, bmc, notification), Done)
    world.clock.advance(timedelta(seconds=10))
    flow = HOST_AUTO.steps
    taking_over = driver(world, bmc)  # replica B, once A's lease has run out
    assert isinstance(taking_over.step(notification, flow, flow.index("fence_host"), None), Done)
    redelivered = driver(world, bmc).step(notification, flow, flow.index("fence_host"), None)  # replica C
    assert isinstance(redelivered, Done) and redelivered.result["powered_off"] is True  # A's answer, recorded
    assert bmc.offs == 1 and len(bmc.accessed) == 1  # B and C found A's fence record: no BMC call
    assert isinstance(crashed, StepClaim) and isinstance(world.journal.begin_step(key, timedelta(1)), StepDone)
