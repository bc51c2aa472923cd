"""COMPUTE_HOST planning: selection, exclusions, priority order and Masakari's state table (fake Nova)."""

from __future__ import annotations

import uuid

import pytest

from vmha.functions.evacuation import planned, planned_count, plans
from vmha.journal import InstanceStatus, Journal, NotificationStatus
from vmha.outcomes import Done, Fail

from .functions_support import HA, World, fail_host, host_down, instances, make_world, run_id
from .journal_support import FakeClock


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock)


def test_plan_filters_orders_and_records(journal: Journal, clock: FakeClock) -> None:
    world = make_world(journal, clock, host_failure={"evacuate_all_instances": False,
                                                     "ignore_instances_in_error_state": True},
                       exclusions={"tags": ["amphora"], "projects": ["octavia"], "images": ["lb-image"]})
    low = world.nova.add_server("compute1", metadata={**HA, "HA_Priority": "1"})
    high = world.nova.add_server("compute1", metadata={**HA, "HA_Priority": "10"})
    plain_ha = world.nova.add_server("compute1", metadata=HA)
    left = [
        world.nova.add_server("compute1"),
        world.nova.add_server("compute1", metadata=HA, vm_state="error"),
        world.nova.add_server("compute1", metadata=HA, tags=["amphora"]),
        world.nova.add_server("compute1", metadata=HA, project_id="octavia"),
        world.nova.add_server("compute1", metadata=HA, image={"id": "lb-image"}),
    ]
    fail_host(world)
    run = world.run(host_down())
    plan = run.of("plan_evacuation")
    assert isinstance(plan, Done)
    assert [str(u) for u in plan.fan_out] == [high.id, low.id, plain_ha.id]
    assert all(s.compute_host == "compute1" for s in left)
    recorded = instances(world, run_id(world))
    assert {recorded[s.id] for s in left} == {InstanceStatus.IGNORED}


def test_a_server_reads_its_own_plan_and_the_count_of_all(world: World) -> None:
    servers = [world.nova.add_server("compute1", metadata=HA, vm_state=state) for state in ("active", "stopped")]
    fail_host(world)
    assert isinstance(world.run(host_down()).of("plan_evacuation"), Done)
    detail = world.journal.get_branch(run_id(world), servers[1].id)
    assert detail is not None

    assert planned_count(detail) == 2
    assert planned(detail, uuid.UUID(servers[1].id)) == plans(detail)[servers[1].id]
    assert (planned(detail, servers[1].id) or pytest.fail("not planned")).vm_state == "stopped"
    assert planned(detail, uuid.uuid4()) is None
    assert planned(detail, None) is None


def test_evacuate_all_puts_ha_servers_first(world: World) -> None:
    plain = world.nova.add_server("compute1")
    ha = world.nova.add_server("compute1", metadata=HA)
    fail_host(world)
    plan = world.run(host_down()).of("plan_evacuation")
    assert isinstance(plan, Done) and [str(u) for u in plan.fan_out] == [ha.id, plain.id]


@pytest.mark.parametrize(
    ("attrs", "final_state", "reset"),
    [
        ({"vm_state": "active"}, "active", False),
        ({"vm_state": "stopped", "power_state": 4}, "stopped", False),
        ({"vm_state": "error"}, "error", False),
        ({"vm_state": "active", "task_state": "migrating"}, "active", True),
        ({"vm_state": "stopped", "task_state": "powering-on"}, "stopped", True),
        ({"vm_state": "paused"}, "stopped", True),
        ({"vm_state": "shelved"}, "stopped", True),
        ({"vm_state": "resized", "power_state": 4}, "stopped", True),
        ({"vm_state": "resized", "power_state": 1}, "active", True),
        ({"vm_state": "active", "is_locked": True}, "active", False),
    ],
)
def test_state_table(world: World, attrs: dict[str, object], final_state: str, reset: bool) -> None:
    server = world.nova.add_server("compute1", **attrs)
    fail_host(world)
    assert world.run(host_down()).status is NotificationStatus.FINISHED
    assert (server.compute_host, server.vm_state, server.task_state) == ("compute2", final_state, None)
    assert ((server.id, "error") in world.nova.called("reset_server_state")) is (reset or final_state == "error")
    assert server.is_locked is bool(attrs.get("is_locked", False))


def test_a_segment_deleted_during_the_recovery_fails_it_at_once(world: World) -> None:
    world.nova.add_server("compute1", metadata=HA)
    fail_host(world)
    listing, reads = world.nova.aggregates, []

    def deleted_after_intake() -> list[object]:
        reads.append(1)
        return list(listing()) if len(reads) == 1 else []

    world.nova.aggregates = deleted_after_intake
    run = world.run(host_down())
    assert run.status is NotificationStatus.FAILED
    assert run.of("guard_mass_failure") == Fail("segment segment-a no longer exists")
    assert world.nova.called("update_service") == []
