"""Reserved (spare) hosts as the reserved-host flows choose them, for the step that takes one into service and
for the failover plan that only says which it would take.

A reserved host is available when its nova-compute service is up, still disabled (a spare, not taken yet),
not disabled by a vmha recovery and not in maintenance; spares are tried in the segment's order.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from vmha.cloud.nova import compute_service, compute_services, is_down
from vmha.cloud.segments import Segment, disabled_by_vmha


def first_spare(cloud: Any, segment: Segment, failed: str, taken: Container[str] = ()) -> str | None:
    """The first available reserved host of ``segment`` other than ``failed`` and those in ``taken``."""
    for host in segment.reserved_hosts:
        if host == failed or host in segment.maintenance_hosts or host in taken:
            continue
        service = compute_service(cloud, host)
        if service is not None and not is_down(service) and service.status == "disabled" and not disabled_by_vmha(
            service
        ):
            return host
    return None


def scheduler_has_room(cloud: Any, failed: str) -> bool:
    """Whether a nova-compute service other than ``failed``'s is up and enabled for the scheduler to use."""
    return any(host != failed and service.status == "enabled" and not is_down(service)
               for host, service in compute_services(cloud).items())
