"""What the capacity check needs, read from the live cloud: Placement's inventories and allocations per host,
Nova's service states, and the servers recovery would move off each host.

A host's resource provider is found through Nova's hypervisor record (its id is the compute node's uuid,
which Placement uses as the provider's uuid), so a provider named by an FQDN still matches a service's
short host name. Every call goes through the openstacksdk connection, with its timeouts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from openstack import exceptions

from vmha.capacity.model import RESOURCE_CLASSES, HostCapacity, Movable, Verdict, check, total
from vmha.cloud.evacuees import reason_to_leave
from vmha.cloud.nova import compute_services, servers_on
from vmha.cloud.segment_policy import applied
from vmha.cloud.segments import Segment
from vmha.contracts import Settings

PLACEMENT_VERSION = "1.17"
"""Placement microversion of the calls below (inventories and allocations keep their shape since 1.0)."""


def verdicts(cloud: Any, settings: Settings, chosen: Iterable[Segment], failures: int = 1) -> list[Verdict]:
    """Whether each chosen segment absorbs the loss of its ``failures`` hosts with the most to move."""
    return [check(segment.name, segment.recovery_method, segment_hosts(cloud, segment, settings), failures)
            for segment in chosen]


def segment_hosts(cloud: Any, segment: Segment, settings: Settings) -> list[HostCapacity]:
    """Each member host of ``segment`` with its capacity, its usage and the servers recovery would move."""
    providers = {hypervisor.service_details.get("host"): hypervisor.id
                 for hypervisor in cloud.compute.hypervisors(details=True)}
    services = compute_services(cloud)
    own = applied(settings, segment.policy)
    return [_host(cloud, name, providers.get(name), services.get(name), segment=segment, settings=own)
            for name in segment.members]


def _host(cloud: Any, name: str, provider: str | None, service: Any | None, *, segment: Segment,
          settings: Settings) -> HostCapacity:
    capacity, held = ({}, {}) if provider is None else (_capacity(cloud, provider), _allocations(cloud, provider))
    movable = tuple(Movable(server.id, server.name or server.id, held.get(server.id, {}))
                    for server in servers_on(cloud, name) if reason_to_leave(server, settings) is None)
    reserved = name in segment.reserved_hosts
    schedulable = (service is not None and service.status == "enabled" and service.state == "up"
                   and name not in segment.maintenance_hosts)
    return HostCapacity(name, capacity, total(held.values()), movable, reserved=reserved,
                        schedulable=schedulable)


def _capacity(cloud: Any, provider: str) -> dict[str, float]:
    found = _get(cloud, f"/resource_providers/{provider}/inventories").get("inventories", {})
    return {kind: (item["total"] - item.get("reserved", 0)) * item.get("allocation_ratio", 1.0)
            for kind, item in found.items() if kind in RESOURCE_CLASSES}


def _allocations(cloud: Any, provider: str) -> dict[str, Mapping[str, float]]:
    """Per consumer (a server's uuid, or a migration's), what it holds on the provider."""
    found = _get(cloud, f"/resource_providers/{provider}/allocations").get("allocations", {})
    return {consumer: held.get("resources", {}) for consumer, held in found.items()}


def _get(cloud: Any, path: str) -> dict[str, Any]:
    answer = cloud.placement.get(path, microversion=PLACEMENT_VERSION)
    exceptions.raise_from_response(answer)
    found: dict[str, Any] = answer.json()
    return found
