"""A segment's own recovery policy (vmha:evacuate_all_instances, vmha:mass_failure_share, vmha:excluded_*):
parsed from the aggregate, applied over the gateway's settings, honoured by the host-failure flow's plan and
guard and by a VM recovery's exclusions (fake Nova, a real journal on fake time)."""

from __future__ import annotations

import pytest

from vmha.cloud.segment_policy import SegmentPolicy, applied, parse_policy
from vmha.cloud.segments import SegmentError, parse_segment
from vmha.journal import InstanceStatus, Journal, NotificationStatus
from vmha.outcomes import Fail, Ignore

from .functions_support import HA, World, fail_host, host_down, instances, make_world, run_id, settings, vm_failed
from .journal_support import FakeClock


@pytest.fixture
def world(journal: Journal, clock: FakeClock) -> World:
    return make_world(journal, clock)


def test_left_out_keys_keep_the_gateways_settings_and_given_ones_replace_them() -> None:
    base = settings(host_failure={"evacuate_all_instances": True, "mass_failure_share": 0.5},
                    exclusions={"tags": ["amphora"], "projects": ["p1"], "images": []})
    assert applied(base, SegmentPolicy()) == base
    own = applied(base, parse_policy({"vmha:evacuate_all_instances": "false", "vmha:mass_failure_share": "0.75",
                                      "vmha:excluded_tags": "pets", "vmha:excluded_projects": "",
                                      "vmha:excluded_images": "img-1, img-2"}))
    assert (own.host_failure.evacuate_all_instances, own.host_failure.mass_failure_share) == (False, 0.75)
    assert (own.exclusions.tags, own.exclusions.projects, own.exclusions.images) == (
        ("pets",), ("p1",), ("img-1", "img-2")), "an empty value is the gateway's, as a Heat stack writes it"


@pytest.mark.parametrize(("key", "value"), [("evacuate_all_instances", "sometimes"), ("mass_failure_share", "0"),
                                            ("mass_failure_share", "1.5"), ("mass_failure_share", "nan")])
def test_a_bad_value_makes_the_segment_invalid_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(SegmentError, match=f"segment s: vmha:{key}"):
        parse_segment("s", ("h1",), {f"vmha:{key}": value})


def test_the_plan_follows_the_segments_evacuate_all_instances(world: World) -> None:
    world.segment(evacuate_all_instances="false")
    ha, plain = world.nova.add_server("compute1", metadata=HA), world.nova.add_server("compute1")
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FINISHED
    assert (ha.compute_host, plain.compute_host) == ("compute2", "compute1")
    assert instances(world, run_id(world))[plain.id] is InstanceStatus.IGNORED


def test_the_guard_follows_the_segments_mass_failure_share(world: World) -> None:
    world.nova.add_server("compute1")
    fail_host(world)
    fail_host(world, "compute2")
    world.segment(mass_failure_share="1")
    assert world.run(host_down()).status is NotificationStatus.FINISHED, "the gateway's 0.5 would refuse 2 of 3"


def test_a_vm_recovery_follows_the_segments_exclusions(world: World) -> None:
    world.segment(excluded_tags="pets")
    server = world.nova.add_server("compute1", metadata=HA, tags=["pets"])
    run = world.run(vm_failed(server.id))
    assert run.status is NotificationStatus.IGNORED
    assert isinstance(run.intake, Ignore) and "tag pets is excluded" in run.intake.reason


def test_an_invalid_policy_fails_the_recovery_with_the_reason(world: World) -> None:
    world.segment(mass_failure_share="lots")
    fail_host(world)
    run = world.run(host_down())
    assert run.status is NotificationStatus.FAILED
    assert isinstance(run.intake, Fail) and "vmha:mass_failure_share" in run.intake.reason
