"""Admission: each rule's typed decision, what it writes, and what it leaves to the flow (fake Nova, real journal)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from openstack import exceptions

from vmha.admission import Admissible, Admitted, Refused, Rule, admit, judge
from vmha.cloud.segments import disabled_reason
from vmha.contracts import HostStatus, Notification
from vmha.journal import Journal, NotificationStatus

from .fake_nova import http_error
from .functions_support import World, host_down, make_world, process_down
from .journal_support import FakeClock


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock, dedup_window_seconds=180)


def decide(world: World, notification: Notification) -> Admitted | Refused:
    return admit(notification, world.cloud, world.journal, world.settings)


def refused_by(decision: Admissible | Admitted | Refused, rule: Rule, *words: str) -> bool:
    return isinstance(decision, Refused) and decision.rule is rule and all(word in decision.reason for word in words)


def test_an_admitted_notification_is_recorded_once_with_its_segment(world: World) -> None:
    notification = world.notification(host_down())
    decision = decide(world, notification)
    assert isinstance(decision, Admitted)
    assert decision.segment.name == "segment-a" and getattr(decision.service, "host", None) == "compute1"
    assert (decision.record.id, decision.record.status, decision.record.segment, decision.record.recovery_method) == (
        str(notification.id), NotificationStatus.NEW, "segment-a", "auto")
    again = decide(world, notification)  # redelivered before its flow was posted: judged again, not rewritten
    assert isinstance(again, Admitted) and again.record == decision.record


def test_an_id_past_new_is_already_received_and_keeps_its_status(world: World) -> None:
    notification = world.notification(host_down())
    decide(world, notification)
    world.journal.set_status(str(notification.id), NotificationStatus.RUNNING)
    world.segment(maintenance_hosts="compute1")  # the recovery's own changes must not give another reason
    decision = decide(world, notification)
    assert refused_by(decision, Rule.ALREADY_RECEIVED, "already received", "running")
    record = world.journal.get_notification_record(str(notification.id))
    assert record is not None and record.status is NotificationStatus.RUNNING


def test_a_host_in_no_segment_is_refused_and_judging_writes_nothing(world: World) -> None:
    outside = world.notification(host_down(), host="compute9")
    judged = judge(outside, world.cloud, world.journal, world.settings)
    assert refused_by(judged, Rule.UNKNOWN_HOST, "compute9", "in no vmha segment")
    assert world.journal.get_notification_record(str(outside.id)) is None
    decision = decide(world, outside)  # the consumer journals what a monitor sent, refused or not
    assert refused_by(decision, Rule.UNKNOWN_HOST)
    assert isinstance(decision, Refused) and decision.record is not None and decision.record.segment is None


def test_an_invalid_segment_or_a_host_in_two_segments_is_refused(world: World) -> None:
    world.nova.add_aggregate("segment-b", ["compute1"], {"vmha:enabled": "true"})
    assert refused_by(decide(world, world.notification(host_down())), Rule.INVALID_SEGMENT, "several")
    world.nova.aggregate_list.pop()
    world.segment(recovery_method="fastest")
    bad = world.notification(host_down(), host="compute2")  # compute1's report is recorded: a duplicate now
    assert refused_by(decide(world, bad), Rule.INVALID_SEGMENT, "'fastest'")


def test_maintenance_listed_in_the_segment_or_left_by_a_recovery(world: World) -> None:
    world.segment(maintenance_hosts="compute2, compute1")
    assert refused_by(decide(world, world.notification(host_down())), Rule.MAINTENANCE, "segment segment-a")
    world.segment()
    process = world.notification(process_down())
    assert isinstance(decide(world, process), Admitted)
    service = world.nova.service_by_host["compute1"]
    service.status, service.disabled_reason = "disabled", disabled_reason("nova-compute died", process.id)
    world.clock.advance(timedelta(seconds=181))
    assert refused_by(decide(world, world.notification(process_down())), Rule.MAINTENANCE, str(process.id))
    host = world.notification(host_down())  # the host failed as a whole after its process: still recovered
    assert isinstance(decide(world, host), Admitted)
    service.disabled_reason = disabled_reason("host failure", host.id)
    world.clock.advance(timedelta(seconds=181))
    assert refused_by(decide(world, world.notification(host_down(HostStatus.UNKNOWN))), Rule.MAINTENANCE)


def test_the_same_report_within_the_window_is_a_duplicate_stored_ignored(world: World) -> None:
    first = world.notification(host_down())
    assert isinstance(decide(world, first), Admitted)
    twin = world.notification(host_down())
    judged = judge(twin, world.cloud, world.journal, world.settings)
    assert refused_by(judged, Rule.DUPLICATE, str(first.id))
    decision = decide(world, twin)
    assert isinstance(decision, Refused) and decision.record is not None
    assert decision.record.status is NotificationStatus.IGNORED
    other = world.notification(host_down(HostStatus.UNKNOWN))  # another payload: another report
    assert isinstance(decide(world, other), Admitted)


def test_a_disabled_segment_records_the_notification_and_refuses_it(world: World) -> None:
    world.segment(enabled="false")
    decision = decide(world, world.notification(host_down()))
    assert refused_by(decision, Rule.DISABLED_SEGMENT, "segment segment-a is disabled")
    assert isinstance(decision, Refused) and decision.segment is not None and decision.record is not None
    assert decision.record.segment == "segment-a"


def test_admission_is_not_the_flow_a_host_not_known_dead_is_still_admitted(world: World) -> None:
    """Admission never proves a host dead: an UNKNOWN power state is admitted, and the flow (fence_host) or
    intake (segments that opt out of fencing) decide what to do with it."""
    judged = judge(world.notification(host_down(HostStatus.UNKNOWN)), world.cloud, world.journal, world.settings)
    assert isinstance(judged, Admissible)


def test_nova_unreachable_raises_before_anything_is_recorded(world: World) -> None:
    world.nova.fail_next("aggregates", http_error(exceptions.HttpException, 503, "nova down"))
    notification = world.notification(host_down())
    with pytest.raises(exceptions.HttpException):
        decide(world, notification)
    assert world.journal.get_notification_record(str(notification.id)) is None
