"""What the recovery functions do under locks: one recovery per host, distinct spares, bounded evacuations.

Fake Nova, a real SQLite journal, and real tooz locks (file driver) at ``coordination_url``, or no URL: the
locks of one gateway process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from vmha.context import StepContext
from vmha.contracts import Notification
from vmha.functions import intake, locks
from vmha.functions.locks import Scope
from vmha.functions.records import INTAKE
from vmha.functions.registry import HOST_AUTO, HOST_RESERVED
from vmha.functions.steps.evacuate_instance import SLOT_TAKEN, SLOT_WAIT_SECONDS
from vmha.functions.steps.take_reserved_host import TAKING
from vmha.functions.triage import HOST_CLAIM
from vmha.journal import InstanceStatus, Journal, NotificationStatus
from vmha.outcomes import Done, Ignore, Recover, Retry

from .fake_nova import FakeCloud
from .functions_support import HA, World, fail_host, host_down, instances, settings, vm_failed
from .journal_support import FakeClock

HOSTS = ("compute1", "compute2", "compute3", "compute4", "compute5")


@pytest.fixture(params=["file", "in-process"])
def world(journal: Journal, clock: FakeClock, tmp_path: Path, request: pytest.FixtureRequest) -> World:
    """compute1..3 in segment-a (auto), compute4 and 5 spare; file or in-process locks; every report is new."""
    url = f"file://{tmp_path / 'locks'}" if request.param == "file" else ""
    made = World(FakeCloud(HOSTS), journal, clock, settings(
        coordination_url=url, dedup_window_seconds=0,
        host_failure={"max_parallel_evacuations": 2}, retry={"recheck_interval_seconds": 2}))
    made.segment()
    for host in ("compute4", "compute5"):
        spare = made.nova.service_by_host[host]
        spare.status, spare.disabled_reason = "disabled", f"{host} kept as a spare"
    return made


def admitted(world: World, host: str = "compute1") -> Notification:
    """A host-down notification that intake accepted (recorded with its segment and host claim)."""
    notification = world.notification(host_down(), host)
    assert isinstance(intake(notification, world.context(notification)), Recover)
    return notification


def end(world: World, notification: Notification) -> None:
    for status in (NotificationStatus.RUNNING, NotificationStatus.FINISHED):
        world.journal.set_status(str(notification.id), status)


def claims(world: World, notification: Notification) -> list[str]:
    detail = world.journal.get_notification(str(notification.id))
    assert detail is not None
    return [event.message for event in detail.events if event.step_id == INTAKE]


def test_one_recovery_per_host_at_a_time(world: World) -> None:
    first = admitted(world)
    second = world.notification(host_down(), "compute1")
    outcome = intake(second, world.context(second))
    assert isinstance(outcome, Ignore)
    assert outcome.reason == f"host compute1 is already being recovered by notification {first.id}"
    assert isinstance(intake(first, world.context(first)), Recover)  # redelivered before its flow started
    assert claims(world, first) == [HOST_CLAIM + "compute1"]
    admitted(world, "compute2")  # another host is another recovery
    end(world, first)
    later = admitted(world)
    assert claims(world, later) == [HOST_CLAIM + "compute1"]


def test_a_vm_failure_on_a_host_under_recovery_is_not_held_back(world: World) -> None:
    admitted(world)
    server = world.nova.add_server("compute1", metadata=HA)
    notification = world.notification(vm_failed(server.id), "compute1")
    assert isinstance(intake(notification, world.context(notification)), Recover)


def test_two_recoveries_of_a_segment_never_take_the_same_spare(world: World) -> None:
    world.segment(recovery_method="reserved_host", reserved_hosts="compute4,compute5")
    first, second = admitted(world, "compute1"), admitted(world, "compute2")
    # The first recovery chose compute4 and stopped before enabling it (a replica died there).
    world.journal.add_progress_event(str(first.id), "take_reserved_host", TAKING + "compute4", 0.0)
    assert world.nova.service_by_host["compute4"].status == "disabled"
    taken = world.once(second, "take_reserved_host", HOST_RESERVED.steps)
    assert isinstance(taken, Done) and taken.result["reserved_host"] == "compute5"
    again = world.once(first, "take_reserved_host", HOST_RESERVED.steps)
    assert isinstance(again, Done) and again.result["reserved_host"] == "compute4"
    assert {world.nova.service_by_host[host].status for host in ("compute4", "compute5")} == {"enabled"}


def test_a_spare_chosen_by_an_ended_recovery_is_available_again(world: World) -> None:
    world.segment(recovery_method="reserved_host", reserved_hosts="compute4")
    first, second = admitted(world, "compute1"), admitted(world, "compute2")
    world.journal.add_progress_event(str(first.id), "take_reserved_host", TAKING + "compute4", 0.0)
    end(world, first)
    taken = world.once(second, "take_reserved_host", HOST_RESERVED.steps)
    assert isinstance(taken, Done) and taken.result["reserved_host"] == "compute4"


def test_a_reserved_host_recovery_runs_whole_under_the_locks(world: World) -> None:
    world.segment(recovery_method="reserved_host", reserved_hosts="compute4")
    servers = [world.nova.add_server("compute1", metadata=HA) for _ in range(3)]
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    assert {server.compute_host for server in servers} == {"compute4"}
    assert world.nova.service_by_host["compute5"].status == "disabled"


def test_evacuations_in_flight_are_bounded_by_max_parallel_evacuations(world: World) -> None:
    servers = [world.nova.add_server("compute1", metadata=HA) for _ in range(3)]
    a, b, c = (server.id for server in servers)
    fail_host(world)
    notification = world.recorded(host_down())
    driver, steps = world.driver(), HOST_AUTO.steps
    assert isinstance(driver.step(notification, steps, steps.index("plan_evacuation"), None), Done)
    assert isinstance(world.once(notification, "evacuate_instance", steps, a), Done)
    assert isinstance(world.once(notification, "evacuate_instance", steps, b), Done)
    waiting = world.once(notification, "evacuate_instance", steps, c)
    assert waiting == Retry("2 evacuations in flight, at most 2 now (host_failure.max_parallel_evacuations 2, fewer "
                            "while Nova shows trouble)",
                            SLOT_WAIT_SECONDS, until_branch_ends=True)
    assert [server_id for server_id, _ in world.nova.called("evacuate_server")] == [a, b]
    world.wait(1)  # Nova finishes a's and b's evacuations; a is confirmed, b not yet
    assert isinstance(world.once(notification, "confirm_instance_evacuated", steps, a), Done)
    assert isinstance(world.once(notification, "evacuate_instance", steps, c), Done)
    progress = instances(world, str(notification.id))
    assert progress == {a: InstanceStatus.SUCCEEDED, b: InstanceStatus.ONGOING, c: InstanceStatus.ONGOING}
    detail = world.journal.get_notification(str(notification.id))
    assert detail is not None
    assert [event.instance_uuid for event in detail.events if event.message == SLOT_TAKEN] == [a, b, c]


@pytest.mark.parametrize("planned", [2, 3])
def test_only_a_plan_beyond_the_window_counts_its_slots_under_the_evacuations_lock(
    world: World, monkeypatch: pytest.MonkeyPatch, planned: int
) -> None:
    servers = [world.nova.add_server("compute1", metadata=HA) for _ in range(planned)]
    fail_host(world)
    notification = world.recorded(host_down())
    driver, steps = world.driver(), HOST_AUTO.steps
    assert isinstance(driver.step(notification, steps, steps.index("plan_evacuation"), None), Done)
    scopes: list[Scope] = []
    exclusive = locks.exclusive

    def spied(ctx: StepContext, scope: Scope, key: str, body: Callable[[], Any]) -> Any:
        scopes.append(scope)
        return exclusive(ctx, scope, key, body)

    monkeypatch.setattr(locks, "exclusive", spied)
    reads: list[str] = []
    read = world.journal.get_branch

    def counted(notification_id: str, instance_uuid: str) -> Any:
        reads.append(instance_uuid)
        return read(notification_id, instance_uuid)

    monkeypatch.setattr(world.journal, "get_branch", counted)
    outcomes = [world.once(notification, "evacuate_instance", steps, server.id) for server in servers]

    assert [type(outcome) for outcome in outcomes] == [Done, Done, Retry][:planned]  # the window is 2
    assert scopes.count(Scope.EVACUATIONS) == (0 if planned == 2 else planned)
    # one read of its branch per run; under the lock, a count of the ongoing
    assert reads == [str(server.id) for server in servers]


def test_a_refused_evacuation_gives_its_slot_back(world: World) -> None:
    world.nova.add_server("compute1", metadata=HA)
    [server] = world.nova.servers(details=True, all_projects=True, compute_host="compute1")
    notification = world.recorded(host_down())
    steps = HOST_AUTO.steps
    assert isinstance(world.driver().step(notification, steps, steps.index("plan_evacuation"), None), Done)
    refused = world.once(notification, "evacuate_instance", steps, server.id)  # compute1 still up for Nova
    assert isinstance(refused, Retry) and "still in use" in refused.reason
    assert instances(world, str(notification.id)) == {server.id: InstanceStatus.PENDING}
    world.clock.advance(timedelta(seconds=1))
    fail_host(world)
    assert isinstance(world.once(notification, "evacuate_instance", steps, server.id), Done)
    assert instances(world, str(notification.id)) == {server.id: InstanceStatus.ONGOING}


def test_a_first_evacuation_acts_on_the_plan_and_any_later_run_reads_the_server_first(world: World) -> None:
    world.nova.add_server("compute1", metadata=HA)
    [server] = world.nova.servers(details=True, all_projects=True, compute_host="compute1")
    fail_host(world)
    notification = world.recorded(host_down())
    steps = HOST_AUTO.steps
    assert isinstance(world.driver().step(notification, steps, steps.index("plan_evacuation"), None), Done)
    before = len(world.nova.calls)
    assert isinstance(world.once(notification, "evacuate_instance", steps, server.id), Done)
    assert server_calls(world, before) == ["lock_server", "evacuate_server"]
    again = world.once(notification, "evacuate_instance", steps, server.id)  # e.g. a replica crashed before the end
    assert again == Done({"target": "compute1", "already": True})
    assert server_calls(world, before) == ["lock_server", "evacuate_server", "get_server"]


def server_calls(world: World, since: int) -> list[str]:
    """The calls about servers made to Nova since its ``since``-th call."""
    return [name for name, _ in world.nova.calls[since:] if "server" in name]
