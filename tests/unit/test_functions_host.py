"""COMPUTE_HOST recovery: whole flows per recovery method, then each step's edge cases (fake Nova)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from openstack import exceptions

from vmha.contracts import Notification
from vmha.functions.registry import HOST_AUTO, HOST_RESERVED
from vmha.functions.steps import confirm_instance_evacuated
from vmha.journal import InstanceStatus, Journal, NotificationStatus
from vmha.nova_news import NovaNews
from vmha.outcomes import Done, Fail, Retry, Skipped

from .fake_nova import FakeService, http_error
from .functions_support import HA, World, fail_host, host_down, instances, make_world, run_id
from .journal_support import FakeClock


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock)


def test_auto_evacuates_every_server_and_keeps_the_host_out(world: World) -> None:
    servers = [world.nova.add_server("compute1", metadata=HA) for _ in range(3)]
    other = world.nova.add_server("compute2")
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    assert {s.compute_host for s in servers} == {"compute2"}
    assert all(s.vm_state == "active" and not s.is_locked for s in servers)
    assert other.compute_host == "compute2"
    service = world.nova.service_by_host["compute1"]
    assert (service.status, service.is_forced_down) == ("disabled", True)
    assert f"(vmha notification {run_id(world)})" in str(service.disabled_reason)
    assert world.nova.disabled_while_up == 0
    assert isinstance(run.of("fence_host"), Skipped)


def test_forced_down_comes_before_disable(world: World) -> None:
    world.nova.add_server("compute1")
    fail_host(world)
    world.run(host_down())
    updates = world.nova.called("update_service")
    assert updates[0] == {"forced_down": True}
    assert updates[1]["status"] == "disabled"


class StubbornService(FakeService):
    """A service Nova keeps reporting up, even forced down (as right after a force-down on a busy Nova)."""

    @property
    def state(self) -> str:
        return "up"


def test_a_service_still_up_after_force_down_is_retried_not_disabled(world: World) -> None:
    notification = world.recorded(host_down())
    world.nova.service_by_host["compute1"] = StubbornService("compute1")
    outcome = world.once(notification, "disable_compute_service", HOST_AUTO.steps)
    assert isinstance(outcome, Retry)
    service = world.nova.service_by_host["compute1"]
    assert (service.is_forced_down, service.status) == (True, "enabled")
    world.clock.advance(timedelta(seconds=world.settings.ceilings.service_disable_seconds))
    late = world.once(notification, "disable_compute_service", HOST_AUTO.steps)
    assert isinstance(late, Fail) and "still reports compute1 up" in late.reason


def test_a_nova_5xx_late_in_a_polling_step_asks_for_the_recheck_interval_not_a_grown_backoff(world: World) -> None:
    notification = world.recorded(host_down())
    world.nova.fail_next("services", http_error(exceptions.HttpException, 503, "nova-api restarting"))
    outcome = world.once(notification, "disable_compute_service", HOST_AUTO.steps, attempt=40)
    assert outcome == Retry("Nova answered 503: nova-api restarting", world.settings.retry.recheck_interval_seconds,
                            outage=True)


def test_reserved_host_takes_the_spare_and_evacuates_onto_it(world: World) -> None:
    world.segment(recovery_method="reserved_host", reserved_hosts="compute3")
    spare = world.nova.service_by_host["compute3"]
    spare.status, spare.disabled_reason = "disabled", "spare"
    servers = [world.nova.add_server("compute1") for _ in range(2)]
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    assert {s.compute_host for s in servers} == {"compute3"}
    assert spare.status == "enabled"
    assert [target for _, target in world.nova.called("evacuate_server")] == ["compute3", "compute3"]


def test_reserved_host_without_a_spare_fails_before_touching_servers(world: World) -> None:
    world.segment(recovery_method="reserved_host", reserved_hosts="compute3")  # compute3 enabled: not a spare
    world.nova.add_server("compute1")
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FAILED
    assert isinstance(run.of("take_reserved_host"), Fail)
    assert world.nova.called("evacuate_server") == []


def test_rh_priority_falls_back_to_the_scheduler_without_a_spare(world: World) -> None:
    world.segment(recovery_method="rh_priority", reserved_hosts="compute3", maintenance_hosts="compute3")
    world.nova.service_by_host["compute3"].status = "disabled"  # a spare, but under maintenance
    server = world.nova.add_server("compute1")
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    assert isinstance(run.of("take_reserved_host"), Skipped)
    assert server.compute_host == "compute2"


def test_auto_priority_uses_the_scheduler_while_it_has_room(world: World) -> None:
    world.segment(recovery_method="auto_priority", reserved_hosts="compute3")
    world.nova.service_by_host["compute3"].status = "disabled"
    server = world.nova.add_server("compute1")
    fail_host(world)
    run = world.run(host_down())
    assert isinstance(run.of("take_reserved_host"), Skipped)
    assert (run.status, server.compute_host) == (NotificationStatus.FINISHED, "compute2")


def test_auto_priority_falls_back_to_a_spare_when_no_host_is_enabled(world: World) -> None:
    world.segment(recovery_method="auto_priority", reserved_hosts="compute3")
    world.nova.service_by_host["compute2"].status = "disabled"
    world.nova.service_by_host["compute3"].status = "disabled"
    server = world.nova.add_server("compute1")
    fail_host(world)
    run = world.run(host_down())
    assert isinstance(run.of("take_reserved_host"), Done)
    assert (run.status, server.compute_host) == (NotificationStatus.FINISHED, "compute3")


def test_a_failed_attempt_puts_the_unused_spare_back(world: World) -> None:
    world.segment(recovery_method="reserved_host", reserved_hosts="compute3")
    spare = world.nova.service_by_host["compute3"]
    spare.status, spare.disabled_reason = "disabled", "kept as spare"
    server = world.nova.add_server("compute1")
    world.nova.full_hosts.add("compute3")
    world.nova._evacuated = lambda s, target: None  # every rebuild fails
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FAILED
    assert isinstance(run.of("finish_host_recovery"), Fail)
    assert (spare.status, spare.disabled_reason) == ("disabled", "kept as spare")
    assert instances(world, str(run_id(world)))[server.id] is InstanceStatus.FAILED


def test_add_reserved_host_to_aggregate_joins_the_failed_hosts_other_aggregates(journal: Journal,
                                                                                clock: FakeClock) -> None:
    world = make_world(journal, clock, host_failure={"add_reserved_host_to_aggregate": True})
    world.segment(recovery_method="reserved_host", reserved_hosts="compute3")
    world.nova.service_by_host["compute3"].status = "disabled"
    ssd = world.nova.add_aggregate("ssd", ["compute1"], {"ssd": "true"})
    world.nova.add_server("compute1")
    fail_host(world)
    assert world.run(host_down()).status is NotificationStatus.FINISHED
    assert ssd.hosts == ["compute1", "compute3"]
    segment = next(a for a in world.nova.aggregate_list if a.name == "segment-a")
    assert segment.hosts == ["compute1", "compute2", "compute3"]  # Heat's segment is never rewritten


def test_mass_failure_guard_refuses_before_any_change(world: World) -> None:
    world.nova.add_server("compute1")
    fail_host(world)
    fail_host(world, "compute2")
    run = world.run(host_down())
    assert run.status is NotificationStatus.FAILED
    outcome = run.of("guard_mass_failure")
    assert isinstance(outcome, Fail) and "2 of 3" in outcome.reason
    assert world.nova.called("update_service") == []
    # the segment's other hosts in one listing of every compute service, not a lookup each
    assert [host for host in world.nova.called("services") if host != "compute1"] == [None]


def test_mass_failure_guard_is_off_at_share_one(journal: Journal, clock: FakeClock) -> None:
    world = make_world(journal, clock, host_failure={"mass_failure_share": 1})
    world.nova.add_server("compute1")
    fail_host(world)
    fail_host(world, "compute2")
    assert world.run(host_down()).status is NotificationStatus.FINISHED


def test_nothing_to_evacuate_still_closes_the_host(world: World) -> None:
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    assert world.nova.service_by_host["compute1"].status == "disabled"


def test_a_server_nova_cannot_place_fails_the_notification_others_still_move(world: World) -> None:
    stuck = world.nova.add_server("compute1")
    moved = world.nova.add_server("compute1")
    original = world.nova._evacuated
    world.nova._evacuated = lambda s, t: None if s.id == stuck.id else original(s, t)
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FAILED
    finish = run.of("finish_host_recovery")
    assert isinstance(finish, Fail) and stuck.id in finish.reason and moved.id not in finish.reason
    assert (moved.compute_host, stuck.compute_host) == ("compute2", "compute1")
    assert not stuck.is_locked


def rebuilt_first(world: World) -> None:
    """Nova's first stretch of each evacuation is seen on its own: rebuilt, host not moved, migration running."""
    stages = [world.nova.settle, world.nova.rebuild]

    def nova_works() -> None:
        (stages.pop() if len(stages) > 1 else stages[0])()

    world.nova.settle = nova_works


def test_a_server_rebuilt_but_not_yet_moved_by_nova_is_waited_for(world: World) -> None:
    server = world.nova.add_server("compute1")
    fail_host(world)
    rebuilt_first(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    detail = world.journal.get_notification(run_id(world))
    assert detail is not None
    [confirm] = [step for step in detail.steps if step.key.step_id == "confirm_instance_evacuated"]
    # evacuating (listed on compute1 with a task, the listing then kept for 0.5 s), rebuilt but still on
    # compute1 (read on its own: no task), moved
    assert confirm.attempts == 4
    assert server.compute_host == "compute2"


def test_an_evacuation_ending_between_two_reads_is_no_failure_and_settles_at_once(world: World) -> None:
    server = world.nova.add_server("compute1")
    fail_host(world)
    rebuild, settle, listing = world.nova.rebuild, world.nova.settle, world.nova.migrations
    world.nova.settle = rebuild  # time passing only rebuilds: the server stays on compute1 with no task

    def ending_meanwhile(**query: str) -> list[object]:
        settle()  # Nova moves the server, then marks its migration done, between vmha's reads
        return list(listing(**query))

    world.nova.migrations = ending_meanwhile
    assert world.run(host_down()).status is NotificationStatus.FINISHED
    assert server.compute_host == "compute2"
    # the read after the migration's end, which shows the server moved, is the one judged: settled there
    reads = [call[0] for call in world.nova.calls if call[0] in ("get_server", "migrations")]
    assert reads == ["get_server", "migrations", "get_server"]


def test_a_rebuilt_server_is_watched_through_novas_evacuation_record_until_it_moves(world: World) -> None:
    server = world.nova.add_server("compute1")
    fail_host(world)
    rebuild, settle, listing = world.nova.rebuild, world.nova.settle, world.nova.migrations
    world.nova.settle = rebuild  # time passing only rebuilds: the server stays on compute1 with no task
    asked = []

    def moving_until_the_third(**query: str) -> list[object]:
        asked.append(query)
        if len(asked) == 3:
            settle()  # Nova moves the server and marks its migration done
        return list(listing(**query))

    world.nova.migrations = moving_until_the_third
    assert world.run(host_down()).status is NotificationStatus.FINISHED
    assert server.compute_host == "compute2"
    calls = [call[0] for call in world.nova.calls]
    rebuilt_at = calls.index("get_server")
    # once a read showed it rebuilt, only the evacuation record is asked until it ends: no listing, no read
    assert [call for call in calls[rebuilt_at:] if call in ("get_server", "migrations", "servers")] == \
        ["get_server", "migrations", "migrations", "migrations", "get_server"]


def test_news_naming_the_failed_host_asks_novas_evacuation_record_before_the_server(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    news = NovaNews()
    news.connected(True)
    monkeypatch.setattr(confirm_instance_evacuated, "NEWS", news)  # this process's news, as the listener fills it
    server = world.nova.add_server("compute1")
    fail_host(world)
    rebuild, settle, listing = world.nova.rebuild, world.nova.settle, world.nova.migrations
    asked: list[dict[str, str]] = []

    def time_passes() -> None:
        if not asked:
            rebuild()
            return
        settle()  # Nova moves the server once its record was asked, and announces the move
        news.heard(server.id, settled=True, host="compute2")

    def record(**query: str) -> list[object]:
        asked.append(query)
        return list(listing(**query))

    world.nova.settle, world.nova.migrations = time_passes, record
    news.heard(server.id, settled=True, host="compute1")  # instance.rebuild.end: no task, still on compute1
    assert world.run(host_down()).status is NotificationStatus.FINISHED
    calls = [call[0] for call in world.nova.calls]
    looks = [call for call in calls[calls.index("evacuate_server"):] if call in ("get_server", "migrations", "servers")]
    # the first look asks the record (still running) and reads nothing more; the news of the move reads the server
    assert looks == ["migrations", "get_server"]
    assert server.compute_host == "compute2"


def recorded_notification(world: World) -> Notification:
    [record] = world.journal.list_notifications(limit=1)
    return Notification(uuid.UUID(record.id), record.source, record.hostname, record.generated_time, host_down())


def nova_writes(world: World) -> list[tuple[str, object]]:
    return [call for call in world.nova.calls if call[0] not in ("services", "aggregates", "servers", "get_server")]


def test_steps_run_twice_change_nothing(world: World) -> None:
    server = world.nova.add_server("compute1")
    fail_host(world)
    assert world.run(host_down()).status is NotificationStatus.FINISHED
    notification = recorded_notification(world)
    writes = len(nova_writes(world))
    for step in ("guard_mass_failure", "disable_compute_service", "finish_host_recovery"):
        assert isinstance(world.once(notification, step, HOST_AUTO.steps), Done)
    for step in ("evacuate_instance", "confirm_instance_evacuated"):
        assert isinstance(world.once(notification, step, HOST_AUTO.steps, server.id), Done)
    assert len(nova_writes(world)) == writes
    assert server.compute_host == "compute2"


def test_a_retried_attempt_does_not_count_the_earlier_failures(world: World) -> None:
    server = world.nova.add_server("compute1")
    world.nova.full_hosts.update({"compute2", "compute3"})
    fail_host(world)
    failed = world.run(host_down())
    assert failed.status is NotificationStatus.FAILED
    left = "Nova left the server on compute1 (error: No valid host was found.)"
    assert left in str(failed.of("finish_host_recovery"))
    notification = recorded_notification(world)
    assert instances(world, str(notification.id))[server.id] is InstanceStatus.FAILED
    world.nova.full_hosts.clear()  # capacity is back; the same recovery runs again
    plan = world.once(notification, "plan_evacuation", HOST_AUTO.steps)
    assert isinstance(plan, Done) and [str(u) for u in plan.fan_out] == [server.id]
    assert isinstance(world.once(notification, "evacuate_instance", HOST_AUTO.steps, server.id), Done)
    world.wait(1)
    assert isinstance(world.once(notification, "confirm_instance_evacuated", HOST_AUTO.steps, server.id), Done)
    assert isinstance(world.once(notification, "finish_host_recovery", HOST_AUTO.steps), Done)
    assert server.compute_host == "compute2"


@pytest.mark.parametrize(("status", "kind"), [(409, Retry), (503, Retry), (400, Fail), (403, Fail)])
def test_nova_errors_map_to_outcomes(world: World, status: int, kind: type[Retry | Fail]) -> None:
    notification = world.recorded(host_down())
    classes = {409: exceptions.ConflictException, 503: exceptions.HttpException,
               400: exceptions.BadRequestException, 403: exceptions.ForbiddenException}
    world.nova.fail_next("services", http_error(classes[status], status, "boom"))
    outcome = world.once(notification, "disable_compute_service", HOST_AUTO.steps)
    assert isinstance(outcome, kind)
    assert "boom" in outcome.reason


def test_fencing_required_stops_the_flow(world: World) -> None:
    world.segment(fencing="required")
    world.nova.add_server("compute1")
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FAILED
    assert isinstance(run.of("fence_host"), Fail)
    assert world.nova.called("evacuate_server") == []


def test_reserved_flow_shape() -> None:
    assert HOST_RESERVED.steps[-1] == HOST_AUTO.steps[-1] == "finish_host_recovery"
    assert "take_reserved_host" in HOST_RESERVED.steps and "take_reserved_host" not in HOST_AUTO.steps
