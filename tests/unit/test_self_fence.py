"""The self-fence lease's shared names and values (vmha.self_fence) and the segment key that sets it."""

from __future__ import annotations

import pytest

from vmha.cloud.segments import SegmentError, parse_segment
from vmha.self_fence import ArmedLease, armed_leases, armed_marker, group_name, lease_seconds, self_fencing


def test_the_lease_is_read_from_the_segment_with_a_default() -> None:
    assert lease_seconds({}) == 60 and lease_seconds({"vmha:self_fence_seconds": " 15 "}) == 15
    assert parse_segment("s", ("c1",), {"vmha:self_fence_seconds": "90"}).self_fence_seconds == 90
    for wrong in ("0", "-5", "1.5", "soon"):
        with pytest.raises(SegmentError, match="self_fence_seconds"):
            parse_segment("s", ("c1",), {"vmha:self_fence_seconds": wrong})
    assert self_fencing({"vmha:fencing": "required_or_selffence"})
    assert not self_fencing({"vmha:fencing": "required"}) and not self_fencing({})


def test_armed_markers_are_found_per_host_even_when_host_names_share_a_prefix() -> None:
    group = group_name("seg")
    mine, theirs = ArmedLease("abc", 60), ArmedLease("def", 30)
    names = [armed_marker(group, "c1", mine), armed_marker(group, "c1.lab", theirs), f"{group}.reported.c1.x",
             armed_marker(group_name("other"), "c1", theirs)]
    assert armed_leases(group, "c1", names) == [mine]
    assert armed_leases(group, "c1.lab", names) == [theirs]
