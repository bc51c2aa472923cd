"""What a host's failure would do now, changing nothing (what-if): the host-failure flow's decisions run
against the live cloud.

- which servers would move, in the flow's order, and which would stay, with why (``vmha.cloud.evacuees``);
- where they could go: the spare a reserved-host flow would take (``vmha.cloud.spares``), or the segment's
  hosts Nova's scheduler could use, with the room each server would find there (``vmha.capacity``);
- whether fencing would work: the host's BMC answers with the configured credentials and reports a power
  state (or the segment's fencing lets another proof stand in, or the operator opted out);
- whether the gateway's account may force a service down and evacuate (Nova's default policy: admin role);
- how long a recovery took here before: past host recoveries of the segment in the journal.

The plan succeeds when every check passes. Reading it calls Nova, Placement and the BMC, each with its
timeout; it never powers, disables or moves anything.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from vmha.capacity.model import HostCapacity, place
from vmha.capacity.reading import segment_hosts
from vmha.cloud.evacuees import evacuees
from vmha.cloud.nova import compute_service, servers_on
from vmha.cloud.segment_policy import applied
from vmha.cloud.segments import Fencing, Segment, segment_of
from vmha.cloud.spares import first_spare, scheduler_has_room
from vmha.contracts import FailureType, RecoveryMethod, Settings
from vmha.fencing import BmcError, load_fencing_config, power_driver
from vmha.journal import Journal, NotificationFilter, NotificationStatus

PAST_RECOVERIES = 20
"""How many of the segment's latest finished host recoveries the time estimate reads."""


class UnknownHostError(LookupError):
    """Nova has no nova-compute service on the host."""


class NoSegmentError(LookupError):
    """The host is in no segment: its failure would not be recovered."""


@dataclass(frozen=True)
class Move:
    """A server the recovery would evacuate, with a host that would have room for it (None: none has)."""

    server_id: str
    name: str
    target: str | None


@dataclass(frozen=True)
class Check:
    """One condition of the recovery's success."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class PastRecoveries:
    """How long the segment's latest finished host recoveries took, from the failure to their end."""

    count: int
    median_seconds: float
    longest_seconds: float


@dataclass(frozen=True)
class FailoverPlan:
    """What the failure of ``host`` would do now."""

    host: str
    segment: str
    recovery_method: RecoveryMethod
    fencing: Fencing
    moves: tuple[Move, ...]
    """In the order the recovery would evacuate them."""
    left: tuple[tuple[str, str, str], ...]
    """Servers it would leave on the host: (id, name, why)."""
    checks: tuple[Check, ...]
    past: PastRecoveries | None

    @property
    def succeeds(self) -> bool:
        return all(check.ok for check in self.checks)


def failover_plan(cloud: Any, journal: Journal, settings: Settings, host: str) -> FailoverPlan:
    """The plan of ``host``'s failure; UnknownHostError, NoSegmentError."""
    if compute_service(cloud, host) is None:
        raise UnknownHostError(f"Nova has no nova-compute service on {host}")
    segment = segment_of(cloud, host)
    if segment is None:
        raise NoSegmentError(f"host {host} is in no vmha segment: its failure would not be recovered")
    servers = servers_on(cloud, host)
    chosen, left = evacuees(servers, applied(settings, segment.policy))
    capacities = {capacity.name: capacity for capacity in segment_hosts(cloud, segment, settings)}
    targets, where = _targets(cloud, segment, host, capacities)
    held = {server.id: server for server in capacities[host].movable}
    placed = {server.id: target for server, target in place(held.values(), targets)}
    moves = tuple(Move(server.id, server.name or server.id, placed.get(server.id)) for server in chosen)
    names = {server.id: server.name for server in servers}
    checks = (where, _room(moves, targets), _fencing(settings, segment, host), _nova_rights(cloud))
    return FailoverPlan(host, segment.name, segment.recovery_method, segment.fencing, moves,
                        tuple((uuid, names.get(uuid) or uuid, why) for uuid, why in left.items()), checks,
                        _past(journal, segment.name))


def _targets(cloud: Any, segment: Segment, host: str,
             capacities: dict[str, HostCapacity]) -> tuple[list[HostCapacity], Check]:
    """The hosts that would take the servers, as the segment's recovery method decides, and that decision."""
    method = segment.recovery_method
    scheduled = [capacity for name, capacity in capacities.items()
                 if name != host and not capacity.reserved and capacity.schedulable]
    spare = None if method is RecoveryMethod.AUTO else first_spare(cloud, segment, host)
    if method is RecoveryMethod.AUTO_PRIORITY and scheduler_has_room(cloud, host):
        spare = None
    if spare is not None:
        return [capacities[spare]], Check("target", True, f"reserved host {spare} would be taken into service")
    if method is RecoveryMethod.RESERVED_HOST:
        return [], Check("target", False, f"no reserved host of segment {segment.name} is available")
    hosts = ", ".join(capacity.name for capacity in scheduled) or "none"
    return scheduled, Check("target", bool(scheduled), f"Nova's scheduler picks the targets (hosts of the segment "
                                                       f"up and enabled: {hosts})")


def _room(moves: tuple[Move, ...], targets: list[HostCapacity]) -> Check:
    short = [move.name for move in moves if move.target is None]
    if short:
        return Check("room", False, f"{len(short)} of {len(moves)} servers would find no room: {', '.join(short)}")
    return Check("room", True, f"all {len(moves)} servers would find room on {len(targets)} host(s)")


def _fencing(settings: Settings, segment: Segment, host: str) -> Check:
    if segment.fencing is Fencing.DISABLED:
        return Check("fencing", True, "fencing is disabled (operator opt-out): servers would be evacuated "
                                      "without proof that the host is dead")
    fallback = segment.fencing is Fencing.REQUIRED_OR_SELF_FENCE and bool(settings.coordination_url)
    access = load_fencing_config(settings.fencing_file).get(host) if settings.fencing_file else None
    if access is None:
        return Check("fencing", fallback, f"{host} has no BMC in the fencing file" +
                     ("; its self-fence lease would stand in" if fallback else ": it could not be fenced"))
    try:
        state = power_driver(access).power_state()
    except BmcError as error:
        return Check("fencing", fallback, f"the BMC does not answer: {error}" +
                     ("; the self-fence lease would stand in" if fallback else ""))
    return Check("fencing", True, f"the BMC ({access.protocol.value} {access.address}) answers: power "
                                  f"{state.value}")


def _nova_rights(cloud: Any) -> Check:
    roles = sorted(cloud.session.auth.get_access(cloud.session).role_names or ())
    ok = "admin" in roles
    return Check("nova_rights", ok, f"the gateway's account holds {', '.join(roles) or 'no role'}: Nova's default "
                                    f"policy lets {'it' if ok else 'only admin'} force services down and evacuate")


def _past(journal: Journal, segment: str) -> PastRecoveries | None:
    found = journal.list_notifications(
        NotificationFilter(statuses=frozenset({NotificationStatus.FINISHED}), type=FailureType.COMPUTE_HOST.value,
                           segment=segment), limit=PAST_RECOVERIES)
    took = [(record.updated_at - record.generated_time).total_seconds() for record in found]
    if not took:
        return None
    return PastRecoveries(len(took), statistics.median(took), max(took))
