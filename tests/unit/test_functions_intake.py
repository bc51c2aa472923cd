"""Intake: deduplication, segments, maintenance and Masakari's actionability rules (fake Nova)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from openstack import exceptions

from vmha.cloud.segments import disabled_reason
from vmha.contracts import FlowSteps, HostEvent, HostPayload, HostStatus, Payload, ProcessEvent, VirDomainEvent, VmEvent
from vmha.functions import intake
from vmha.functions.registry import HOST_AUTO, HOST_RESERVED, PROCESS, VM
from vmha.journal import Journal, NotificationStatus
from vmha.outcomes import Fail, Ignore, Recover, Retry

from .fake_nova import http_error
from .functions_support import World, host_down, make_world, process_down, vm_failed
from .journal_support import FakeClock


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock)


def ignored(outcome: object, *words: str) -> bool:
    return isinstance(outcome, Ignore) and all(word in outcome.reason for word in words)


@pytest.mark.parametrize(("method", "flow"), [("auto", HOST_AUTO), ("reserved_host", HOST_RESERVED),
                                              ("auto_priority", HOST_RESERVED), ("rh_priority", HOST_RESERVED)])
def test_host_failure_gets_the_flow_of_its_segments_method(world: World, method: str, flow: FlowSteps) -> None:
    world.segment(recovery_method=method)
    notification = world.notification(host_down())
    outcome = intake(notification, world.context(notification))
    assert isinstance(outcome, Recover)
    assert outcome == Recover(flow.steps, "segment-a", method)
    record = world.journal.get_notification(str(notification.id))
    assert record is not None and (record.notification.segment, record.notification.recovery_method) == (
        "segment-a", method)


def test_vm_and_process_flows(world: World) -> None:
    server = world.nova.add_server("compute1", metadata={"HA_Enabled": "true"})
    for payload, flow in ((vm_failed(server.id), VM), (process_down(), PROCESS)):
        notification = world.notification(payload)
        outcome = intake(notification, world.context(notification))
        assert isinstance(outcome, Recover) and outcome.flow == flow.steps


def test_same_id_is_never_recovered_twice(world: World) -> None:
    notification = world.notification(host_down())
    assert isinstance(intake(notification, world.context(notification)), Recover)
    assert isinstance(intake(notification, world.context(notification)), Recover)  # still new: crash before posting
    world.journal.set_status(str(notification.id), NotificationStatus.RUNNING)
    assert ignored(intake(notification, world.context(notification)), "already received", "running")


def test_same_report_inside_the_window_is_a_duplicate_outside_it_is_not(world: World) -> None:
    first = world.notification(host_down())
    assert isinstance(intake(first, world.context(first)), Recover)
    twin = world.notification(host_down())
    assert ignored(intake(twin, world.context(twin)), "duplicate of notification", str(first.id))
    world.clock.advance(timedelta(seconds=world.settings.dedup_window_seconds + 1))
    for status in (NotificationStatus.RUNNING, NotificationStatus.FINISHED):  # one host recovery at a time
        world.journal.set_status(str(first.id), status)
    later = world.notification(host_down())
    assert isinstance(intake(later, world.context(later)), Recover)


def test_different_payload_is_not_a_duplicate(world: World) -> None:
    first, other = world.notification(host_down()), world.notification(host_down(HostStatus.UNKNOWN))
    assert isinstance(intake(first, world.context(first)), Recover)
    assert ignored(intake(other, world.context(other)), "UNKNOWN")


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (host_down(None), ("no host_status",)),
        (host_down(HostStatus.UNKNOWN), ("power-off not confirmed",)),
        (process_down(event=ProcessEvent.STARTED), ("started",)),
        (process_down("libvirtd"), ("no recovery for process libvirtd",)),
    ],
)
def test_events_that_are_not_actionable_are_ignored(world: World, payload: Payload, words: tuple[str, ...]) -> None:
    notification = world.notification(payload)
    assert ignored(intake(notification, world.context(notification)), *words)
    assert world.journal.get_notification(str(notification.id)) is not None


def test_host_started_is_ignored(world: World) -> None:
    notification = world.notification(HostPayload(HostEvent.STARTED, HostStatus.NORMAL))
    assert ignored(intake(notification, world.context(notification)), "started")


@pytest.mark.parametrize(
    ("event", "detail", "actionable"),
    [
        (VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED, True),
        (VmEvent.IO_ERROR, VirDomainEvent.IO_ERROR_REPORT, True),
        (VmEvent.QEMU_GUEST_AGENT_ERROR, VirDomainEvent.STOPPED_FAILED, True),
        (VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_SHUTDOWN, False),
        (VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_DESTROYED, False),
        (VmEvent.IO_ERROR, VirDomainEvent.IO_ERROR_PAUSE, False),
        (VmEvent.REBOOT, VirDomainEvent.UNKNOWN, False),
    ],
)
def test_vm_event_table(world: World, event: VmEvent, detail: VirDomainEvent, actionable: bool) -> None:
    server = world.nova.add_server("compute1", metadata={"HA_Enabled": "yes"})
    notification = world.notification(vm_failed(server.id, event, detail))
    outcome = intake(notification, world.context(notification))
    assert isinstance(outcome, Recover) if actionable else ignored(outcome, "not a failure")


def test_vm_rules_on_the_server(journal: Journal, clock: FakeClock) -> None:
    world = make_world(journal, clock, exclusions={"tags": ["amphora"]})
    cases = [
        (world.nova.add_server("compute1"), "not HA-enabled"),
        (world.nova.add_server("compute1", metadata={"HA_Enabled": "True"}, vm_state="paused"), "paused"),
        (world.nova.add_server("compute1", metadata={"HA_Enabled": "True"}, vm_state="rescued"), "rescued"),
        (world.nova.add_server("compute1", metadata={"HA_Enabled": "True"}, tags=["amphora"]), "tag amphora"),
    ]
    for server, words in cases:
        notification = world.notification(vm_failed(server.id))
        assert ignored(intake(notification, world.context(notification)), words)
    gone = world.notification(vm_failed(str(uuid.uuid4())))
    assert ignored(intake(gone, world.context(gone)), "does not exist")


def test_process_all_instances_recovers_servers_without_the_key(journal: Journal, clock: FakeClock) -> None:
    world = make_world(journal, clock, instance_failure={"process_all_instances": True})
    server = world.nova.add_server("compute1")
    notification = world.notification(vm_failed(server.id))
    assert isinstance(intake(notification, world.context(notification)), Recover)


def test_segment_rules(world: World) -> None:
    outside = world.notification(host_down(), host="compute9")
    refused = intake(outside, world.context(outside))
    assert isinstance(refused, Fail) and "host compute9 is in no vmha segment" in refused.reason
    started = world.notification(HostPayload(HostEvent.STARTED), host="compute9")
    assert ignored(intake(started, world.context(started)), "nothing to recover")
    world.segment(enabled="false")
    disabled = world.notification(host_down())
    assert ignored(intake(disabled, world.context(disabled)), "segment segment-a is disabled")
    world.segment(maintenance_hosts="compute2, compute1")
    world.clock.advance(timedelta(seconds=world.settings.dedup_window_seconds + 1))
    planned = world.notification(host_down())
    assert ignored(intake(planned, world.context(planned)), "maintenance")


def test_a_host_vmha_took_out_is_in_maintenance_except_for_a_host_failure_after_a_process_failure(
        world: World) -> None:
    process = world.notification(process_down())
    assert isinstance(intake(process, world.context(process)), Recover)
    service = world.nova.service_by_host["compute1"]
    service.status, service.disabled_reason = "disabled", disabled_reason("nova-compute died", process.id)
    vm = world.notification(vm_failed(world.nova.add_server("compute1", metadata={"HA_Enabled": "1"}).id))
    assert ignored(intake(vm, world.context(vm)), "maintenance", str(process.id))
    host = world.notification(host_down())
    assert isinstance(intake(host, world.context(host)), Recover)
    service.disabled_reason = disabled_reason("host failure", host.id)
    again = world.notification(host_down(HostStatus.NORMAL))
    world.clock.advance(timedelta(seconds=world.settings.dedup_window_seconds + 1))
    assert ignored(intake(again, world.context(again)), "maintenance")


def test_misconfigured_segments_fail(world: World) -> None:
    world.nova.add_aggregate("segment-b", ["compute1"], {"vmha:enabled": "true"})
    both = world.notification(host_down())
    assert isinstance(intake(both, world.context(both)), Fail)
    world.nova.aggregate_list.pop()
    world.segment(recovery_method="fastest")
    bad = world.notification(host_down(), host="compute2")
    outcome = intake(bad, world.context(bad))
    assert isinstance(outcome, Fail) and "'fastest' is not one of auto" in outcome.reason


def test_nova_unavailable_is_retried_before_anything_is_recorded(world: World) -> None:
    world.nova.fail_next("aggregates", http_error(exceptions.HttpException, 503, "nova down"))
    notification = world.notification(host_down())
    assert isinstance(intake(notification, world.context(notification)), Retry)
    assert world.journal.get_notification(str(notification.id)) is None


def test_custom_flows_replace_the_defaults(journal: Journal, clock: FakeClock, tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text("PROCESS: {pre: [], main: [disable_compute_node], post: []}\n")
    world = make_world(journal, clock, custom_flows_file=str(path))
    notification = world.notification(process_down())
    outcome = intake(notification, world.context(notification))
    assert isinstance(outcome, Recover) and outcome.flow == ("disable_compute_node",)
    path.write_text("PROCESS: {pre: [], main: [reboot_host], post: []}\n")
    broken = world.notification(process_down(), host="compute2")
    failed = intake(broken, world.context(broken))
    assert isinstance(failed, Fail) and "reboot_host" in failed.reason
