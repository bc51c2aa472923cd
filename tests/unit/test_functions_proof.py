"""Proof of death: no server is started elsewhere without a fence record for its host, and reports their
host, process or server contradicts are not acted on (fake Nova, a real SQLite journal)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from vmha.contracts import HostStatus, Notification
from vmha.functions import intake
from vmha.functions.registry import HOST_AUTO
from vmha.journal import FenceMethod, Journal
from vmha.outcomes import Done, Fail, Ignore, Recover

from .functions_support import HA, SEGMENT, World, fail_host, host_down, make_world, process_down, vm_failed
from .journal_support import FakeClock

STEPS = HOST_AUTO.steps


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock)


def planned(world: World) -> tuple[Notification, str]:
    """A recorded host failure of compute1 with one HA server planned for evacuation, nothing fenced."""
    server = world.nova.add_server("compute1", metadata=HA)
    fail_host(world)
    notification = world.recorded(host_down())
    assert isinstance(world.driver().step(notification, STEPS, STEPS.index("plan_evacuation"), None), Done)
    return notification, server.id


def required_by_default(world: World) -> None:
    """The segment as an operator writes it without a fencing key."""
    world.nova.aggregate_list = []
    world.nova.add_aggregate(SEGMENT, ["compute1", "compute2", "compute3"], {"vmha:recovery_method": "auto"})


@pytest.mark.parametrize("segment", ["required", "required_or_selffence", "default"])
def test_no_evacuation_without_a_fence_record(world: World, segment: str) -> None:
    if segment == "default":
        required_by_default(world)
    else:
        world.segment(fencing=segment)
    notification, server = planned(world)
    refused = world.once(notification, "evacuate_instance", STEPS, server)
    assert isinstance(refused, Fail) and "no proof that compute1 is dead" in refused.reason
    assert world.nova.called("evacuate_server") == [] and world.nova.called("lock_server") == []
    assert world.nova.server_by_id[server].compute_host == "compute1"


def test_a_recorded_fence_is_the_proof(world: World) -> None:
    required_by_default(world)
    notification, server = planned(world)
    world.journal.record_fence(str(notification.id), "compute1", FenceMethod.IPMI,
                               {"bmc": "ipmi 127.0.0.1", "power": "off"})
    assert isinstance(world.once(notification, "evacuate_instance", STEPS, server), Done)
    assert len(world.nova.called("evacuate_server")) == 1


def test_a_fence_of_another_host_proves_nothing(world: World) -> None:
    required_by_default(world)
    notification, server = planned(world)
    world.journal.record_fence(str(notification.id), "compute2", FenceMethod.REDFISH, {})
    assert isinstance(world.once(notification, "evacuate_instance", STEPS, server), Fail)


def test_an_explicit_opt_out_is_recorded_and_said_at_every_recovery(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.segment(fencing="disabled")
    notification, server = planned(world)  # no fence_host ran: a custom flow without it
    with caplog.at_level(logging.WARNING):
        assert isinstance(world.once(notification, "evacuate_instance", STEPS, server), Done)
    fence = world.journal.get_fence(str(notification.id), "compute1")
    assert fence is not None and fence.method is FenceMethod.OPTED_OUT and not fence.proves_death
    assert any("WITHOUT proof that it is dead" in record.getMessage() for record in caplog.records)


def test_an_unknown_host_status_is_recovered_only_where_the_flow_fences(world: World) -> None:
    required_by_default(world)
    unknown = world.notification(host_down(HostStatus.UNKNOWN))
    outcome = intake(unknown, world.context(unknown))
    assert isinstance(outcome, Recover) and outcome.flow[:2] == ("guard_mass_failure", "fence_host")
    world.segment(fencing="disabled")
    other = world.notification(host_down(HostStatus.UNKNOWN), host="compute2")
    ignored = intake(other, world.context(other))
    assert isinstance(ignored, Ignore) and "power-off not confirmed" in ignored.reason


def test_a_host_that_reported_after_the_failure_report_is_not_recovered(world: World) -> None:
    required_by_default(world)
    late = world.notification(host_down(HostStatus.UNKNOWN))  # made before the host came back
    service = world.nova.service_by_host["compute1"]
    service.updated_at = (late.generated_time + timedelta(seconds=5)).replace(tzinfo=None).isoformat()
    outcome = intake(late, world.context(late))
    assert isinstance(outcome, Ignore) and "host alive at recovery time" in outcome.reason
    assert world.nova.called("force_down_service") == []


def test_a_host_whose_last_report_precedes_the_failure_report_is_recovered(world: World) -> None:
    required_by_default(world)
    fresh = world.notification(host_down(HostStatus.UNKNOWN))
    service = world.nova.service_by_host["compute1"]
    service.updated_at = (fresh.generated_time - timedelta(seconds=1)).replace(tzinfo=None).isoformat()
    assert isinstance(intake(fresh, world.context(fresh)), Recover)


def _nova(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat()


def test_a_nova_compute_running_again_is_not_taken_out(world: World) -> None:
    late = world.notification(process_down())
    world.nova.service_by_host["compute1"].updated_at = _nova(late.generated_time + timedelta(seconds=3))
    outcome = intake(late, world.context(late))
    assert isinstance(outcome, Ignore) and "nova-compute running again at recovery time" in outcome.reason
    fresh = world.notification(process_down(), host="compute2")
    world.nova.service_by_host["compute2"].updated_at = _nova(fresh.generated_time - timedelta(seconds=3))
    assert isinstance(intake(fresh, world.context(fresh)), Recover)


def test_a_server_running_again_is_not_restarted(world: World) -> None:
    server = world.nova.add_server("compute1", metadata=HA)
    late = world.notification(vm_failed(server.id))
    server.updated_at = _nova(late.generated_time + timedelta(seconds=3))
    outcome = intake(late, world.context(late))
    assert isinstance(outcome, Ignore) and "server running again at recovery time" in outcome.reason
    stopped = world.nova.add_server("compute1", metadata=HA, power_state=4)  # Nova saw it fail after the report
    report = world.notification(vm_failed(stopped.id))
    stopped.updated_at = _nova(report.generated_time + timedelta(seconds=3))
    assert isinstance(intake(report, world.context(report)), Recover)
