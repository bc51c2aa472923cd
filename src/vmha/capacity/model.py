"""Whether a segment can absorb the loss of its hosts: the failover capacity check, with no I/O.

A host's capacity per resource class is Placement's ``(total - reserved) * allocation_ratio``, what is used
of it the sum of its allocations. When hosts fail, the servers recovery would move off them (the same choice
the host-failure flow makes: exclusions, ``evacuate_all_instances``) must fit on the targets the segment's
recovery method allows: its enabled hosts for ``auto``, its reserved hosts for ``reserved_host``, both for
the two priority methods. Servers do not split, so the check places them, largest first, each on the
target with the most memory left that holds all of it (first-fit decreasing, close to how Nova's scheduler
spreads): a segment absorbs the loss when every server found a place. The hosts assumed lost are those
with the most to move (the worst case of ``failures`` hosts, its largest host for one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from vmha.contracts import RecoveryMethod

RESOURCE_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")
"""The resource classes counted, Placement's names."""

Amounts = Mapping[str, float]


@dataclass(frozen=True)
class Movable:
    """A server recovery would evacuate off its host, with what it holds in Placement."""

    id: str
    name: str
    resources: Amounts


@dataclass(frozen=True)
class HostCapacity:
    """One host of a segment as Placement and Nova show it now."""

    name: str
    capacity: Amounts
    """Per resource class, what Placement lets be allocated: (total - reserved) * allocation_ratio."""
    used: Amounts
    """Per resource class, the sum of the host's allocations."""
    movable: tuple[Movable, ...]
    """The servers recovery would evacuate if the host failed."""
    reserved: bool = False
    """A reserved (spare) host of the segment."""
    schedulable: bool = True
    """Its nova-compute is up and enabled (a reserved host counts whatever its service state)."""

    def free(self) -> dict[str, float]:
        return {kind: self.capacity.get(kind, 0.0) - self.used.get(kind, 0.0) for kind in RESOURCE_CLASSES}

    def demand(self) -> dict[str, float]:
        return total(server.resources for server in self.movable)


@dataclass(frozen=True)
class Verdict:
    """Whether a segment absorbs the loss of ``failures`` hosts, and by how much."""

    segment: str
    recovery_method: RecoveryMethod
    failures: int
    lost: tuple[str, ...]
    """The hosts assumed lost: those with the most to move."""
    targets: tuple[str, ...]
    """The hosts that would take the servers."""
    demand: dict[str, float]
    """What the lost hosts' servers hold, per resource class."""
    free: dict[str, float]
    """What the targets have free, per resource class."""
    placements: tuple[tuple[Movable, str | None], ...] = field(default=())
    """Each server to move, largest first, with the target that would have room for it (None: none has)."""

    @property
    def unplaced(self) -> tuple[str, ...]:
        """The names of the servers that would find no target with room for them."""
        return tuple(server.name for server, target in self.placements if target is None)

    @property
    def absorbs(self) -> bool:
        return not self.unplaced

    @property
    def headroom(self) -> dict[str, float]:
        """Free capacity left on the targets after the lost hosts' servers moved, per resource class
        (negative: short by that much)."""
        return {kind: self.free[kind] - self.demand[kind] for kind in RESOURCE_CLASSES}


def total(amounts: Iterable[Amounts]) -> dict[str, float]:
    """The sum per resource class."""
    summed = dict.fromkeys(RESOURCE_CLASSES, 0.0)
    for amount in amounts:
        for kind in RESOURCE_CLASSES:
            summed[kind] += amount.get(kind, 0.0)
    return summed


def check(segment: str, method: RecoveryMethod, hosts: Iterable[HostCapacity], failures: int = 1) -> Verdict:
    """Whether ``segment`` absorbs the loss of its ``failures`` hosts with the most to move."""
    members = list(hosts)
    candidates = sorted((host for host in members if not host.reserved), key=_weight(members), reverse=True)
    lost = candidates[:max(failures, 0)]
    lost_names = {host.name for host in lost}
    targets = [host for host in members if host.name not in lost_names and _takes(host, method)]
    servers = [server for host in lost for server in host.movable]
    return Verdict(segment, method, failures, tuple(host.name for host in lost),
                   tuple(host.name for host in targets), total(server.resources for server in servers),
                   total(host.free() for host in targets), place(servers, targets))


def _takes(host: HostCapacity, method: RecoveryMethod) -> bool:
    """Whether recovery with ``method`` may evacuate onto ``host``."""
    if host.reserved:
        return method is not RecoveryMethod.AUTO
    return host.schedulable and method is not RecoveryMethod.RESERVED_HOST


def _weight(members: list[HostCapacity]) -> Callable[[HostCapacity], float]:
    """Orders hosts by what their loss would move: the largest share of the segment's capacity, over the
    resource classes."""
    whole = total(host.capacity for host in members)

    def share(host: HostCapacity) -> float:
        demand = host.demand()
        return max((demand[kind] / whole[kind] for kind in RESOURCE_CLASSES if whole[kind] > 0), default=0.0)
    return share


def place(servers: Iterable[Movable], targets: Iterable[HostCapacity]) -> tuple[tuple[Movable, str | None], ...]:
    """Places the servers, largest first, each on the target with the most memory free that holds all of it;
    each server with its target, None when none has room."""
    free = {host.name: host.free() for host in targets}
    placed: list[tuple[Movable, str | None]] = []
    for server in sorted(servers, key=_size, reverse=True):
        fitting = [name for name, left in free.items() if _fits(server.resources, left)]
        target = max(fitting, key=lambda name: free[name]["MEMORY_MB"], default=None)
        if target is not None:
            for kind in RESOURCE_CLASSES:
                free[target][kind] -= server.resources.get(kind, 0.0)
        placed.append((server, target))
    return tuple(placed)


def _size(server: Movable) -> tuple[float, ...]:
    return tuple(server.resources.get(kind, 0.0) for kind in ("MEMORY_MB", "VCPU", "DISK_GB"))


def _fits(need: Amounts, left: Amounts) -> bool:
    return all(need.get(kind, 0.0) <= left[kind] for kind in RESOURCE_CLASSES)
