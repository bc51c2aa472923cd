"""VM (stop, start, confirm active, restart limit) and PROCESS (disable, confirm) recovery (fake Nova)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from vmha.functions.nova import FIRST_RECHECK_SECONDS
from vmha.functions.registry import PROCESS, VM
from vmha.journal import Journal, NotificationStatus
from vmha.outcomes import Done, Fail, Retry

from .fake_nova import FakeServer
from .functions_support import World, make_world, process_down, run_id, vm_failed
from .journal_support import FakeClock

HA = {"HA_Enabled": "True"}


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock)


def crashed(world: World, **attrs: object) -> FakeServer:
    """An HA server libvirt reports crashed: Nova's power sync has not noticed yet, it still says active."""
    server: FakeServer = world.nova.add_server("compute1", metadata=HA, **attrs)
    return server


def test_vm_flow_restarts_the_server(world: World) -> None:
    server = crashed(world)
    run = world.run(vm_failed(server.id))
    assert run.status is NotificationStatus.FINISHED
    assert (server.vm_state, server.task_state) == ("active", None)
    assert world.nova.called("stop_server") == [server.id]
    assert world.nova.called("start_server") == [server.id]


def test_a_server_already_stopped_is_only_started(world: World) -> None:
    server = crashed(world, vm_state="stopped")
    assert world.run(vm_failed(server.id)).status is NotificationStatus.FINISHED
    assert world.nova.called("stop_server") == []
    assert server.vm_state == "active"


def test_a_409_on_stop_is_not_an_error(world: World) -> None:
    server = crashed(world, task_state="powering-off", pending=("stop", None))
    assert world.run(vm_failed(server.id)).status is NotificationStatus.FINISHED
    assert server.vm_state == "active"


def test_a_resized_server_is_reset_to_active_before_the_stop(world: World) -> None:
    server = crashed(world, vm_state="resized")
    assert world.run(vm_failed(server.id)).status is NotificationStatus.FINISHED
    assert (server.id, "active") in world.nova.called("reset_server_state")


def test_restart_limit_stops_a_crash_loop(journal: Journal, clock: FakeClock) -> None:
    world = make_world(journal, clock, instance_failure={"restart_limit": 2, "restart_window_seconds": 600})
    server = crashed(world)
    for _ in range(2):
        assert world.run(vm_failed(server.id)).status is NotificationStatus.FINISHED
        world.clock.advance(timedelta(seconds=200))  # past the dedup window
    run = world.run(vm_failed(server.id))
    assert run.status is NotificationStatus.FAILED
    outcome = run.of("stop_instance")
    assert isinstance(outcome, Fail) and "restarted 2 times" in outcome.reason
    world.clock.advance(timedelta(seconds=600))  # the window slid past the first restarts
    assert world.run(vm_failed(server.id)).status is NotificationStatus.FINISHED


def test_a_server_that_does_not_come_back_fails(world: World) -> None:
    server = crashed(world)
    original = world.nova._started
    world.nova._started = lambda s, t: setattr(s, "vm_state", "error")
    run = world.run(vm_failed(server.id))
    assert run.status is NotificationStatus.FAILED
    assert isinstance(run.of("confirm_instance_active"), Fail)
    world.nova._started = original


def test_a_wait_for_nova_rechecks_soon_then_backs_off_to_the_recheck_interval(world: World) -> None:
    server = crashed(world, vm_state="stopped")
    notification = world.recorded(vm_failed(server.id))
    world.nova.start_server(server)  # starting, never finishing
    delays = []
    for attempt in range(1, 7):
        outcome = world.once(notification, "confirm_instance_active", VM.steps, attempt=attempt)
        assert isinstance(outcome, Retry)
        delays.append(outcome.delay)
    interval = world.settings.retry.recheck_interval_seconds
    assert delays == [min(interval, FIRST_RECHECK_SECONDS * 2**n) for n in range(6)]
    assert delays[0] == FIRST_RECHECK_SECONDS < delays[1] < delays[-1] == interval


def test_confirm_active_waits_then_gives_up_at_its_ceiling(world: World) -> None:
    server = crashed(world, vm_state="stopped")
    notification = world.recorded(vm_failed(server.id))
    world.nova.start_server(server)  # starting, never finishing
    assert isinstance(world.once(notification, "confirm_instance_active", VM.steps), Retry)
    world.clock.advance(timedelta(seconds=world.settings.ceilings.power_on_seconds))
    late = world.once(notification, "confirm_instance_active", VM.steps)
    assert isinstance(late, Fail) and "not active before the deadline" in late.reason


def test_start_refuses_an_unexpected_state(world: World) -> None:
    server = crashed(world, vm_state="error")
    notification = world.recorded(vm_failed(server.id))
    outcome = world.once(notification, "start_instance", VM.steps)
    assert isinstance(outcome, Fail) and "expected server" in outcome.reason


def test_vm_steps_run_twice_change_nothing(world: World) -> None:
    server = crashed(world)
    notification = world.recorded(vm_failed(server.id))
    driver = world.driver()
    for position in range(len(VM.steps)):
        assert isinstance(driver.step(notification, VM.steps, position, None), Done)
    calls = len(world.nova.calls)
    for step in VM.steps:
        assert isinstance(world.once(notification, step, VM.steps), Done)
    assert [c for c in world.nova.calls[calls:] if c[0] not in ("get_server",)] == []


def test_process_flow_disables_the_service_and_moves_nothing(world: World) -> None:
    server = world.nova.add_server("compute1", metadata=HA)
    run = world.run(process_down())
    assert run.status is NotificationStatus.FINISHED
    service = world.nova.service_by_host["compute1"]
    assert service.status == "disabled" and "vmha notification" in str(service.disabled_reason)
    assert not service.is_forced_down
    assert server.compute_host == "compute1"


def test_the_longest_reason_an_operator_may_set_still_fits_nova(journal: Journal, clock: FakeClock) -> None:
    world = make_world(journal, clock, process_failure={"service_disable_reason": "r" * 255})
    assert world.run(process_down()).status is NotificationStatus.FINISHED
    reason = str(world.nova.service_by_host["compute1"].disabled_reason)
    assert len(reason) == 255 and reason.startswith("rrr") and reason.endswith(f"(vmha notification {run_id(world)})")


def test_process_steps_converge(world: World) -> None:
    service = world.nova.service_by_host["compute1"]
    service.status, service.disabled_reason = "disabled", "operator"
    notification = world.recorded(process_down())
    for step in PROCESS.steps:
        assert isinstance(world.once(notification, step, PROCESS.steps), Done)
    assert (service.status, service.disabled_reason) == ("disabled", "operator")


def test_confirm_disabled_waits_then_fails(world: World) -> None:
    notification = world.recorded(process_down())
    assert isinstance(world.once(notification, "confirm_compute_node_disabled", PROCESS.steps), Retry)
    world.clock.advance(timedelta(seconds=world.settings.ceilings.service_disable_seconds))
    assert isinstance(world.once(notification, "confirm_compute_node_disabled", PROCESS.steps), Fail)


@pytest.mark.parametrize("step", ["start_instance", "confirm_instance_active"])
def test_a_vm_step_fails_on_a_deleted_server_and_on_a_notification_of_another_type(world: World, step: str) -> None:
    gone = world.notification(vm_failed("5b8c8f6e-0000-4000-8000-000000000001"))
    assert world.once(gone, step, VM.steps) == Fail("server 5b8c8f6e-0000-4000-8000-000000000001 no longer exists")
    process = world.notification(process_down())
    assert world.once(process, step, VM.steps) == Fail(f"{step} handles VM notifications only")


@pytest.mark.parametrize("step", ["disable_compute_node", "confirm_compute_node_disabled"])
def test_a_process_step_fails_on_a_host_nova_does_not_know(world: World, step: str) -> None:
    stranger = world.notification(process_down(), host="compute9")
    assert world.once(stranger, step, PROCESS.steps) == Fail("Nova has no nova-compute service on host compute9")
