"""What must hold before a drill changes anything; each refusal is a ``DrillError`` naming what to fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vmha.cloud.segments import Fencing, Segment, SegmentError, segment_of
from vmha.drill.options import DrillOptions
from vmha.fencing import BmcAccess, BmcError, PowerState, load_fencing_config, power_driver

MOST_NAMED = 5
"""At most this many servers are named in a refusal."""


class DrillError(Exception):
    """The drill refuses or cannot go on; the message is for the operator."""


@dataclass(frozen=True)
class Target:
    """The host to fail, its segment and its BMC, as checked."""

    host: str
    segment: Segment
    bmc: BmcAccess
    existing: tuple[str, ...]
    """Servers on the host the drill did not boot (only with ``--include-existing``)."""


def preflight(conn: Any, options: DrillOptions, under_way: Callable[[], list[dict[str, Any]]]) -> Target:
    """Check the host, its segment, its BMC and the recoveries ``under_way`` (read last: the gateway's API)."""
    host, segment = options.host, options.segment
    service = _service(conn, host)
    found = _segment(conn, host, segment)
    if not found.enabled:
        raise DrillError(f"segment {segment} is disabled (vmha:enabled false): its recoveries are ignored")
    if found.fencing is Fencing.DISABLED:
        raise DrillError(f"segment {segment} has vmha:fencing disabled: its recoveries evacuate without proof that "
                         "the host is dead, and a drill rehearses only the fenced pipeline; drill a segment that "
                         "fences")
    if host in found.maintenance_hosts:
        raise DrillError(f"{host} is in maintenance (vmha:maintenance_hosts of {segment}): its failures are ignored")
    if service.state != "up" or service.status != "enabled" or service.is_forced_down:
        reason = f", {service.disabled_reason}" if service.disabled_reason else ""
        forced = ", forced down" if service.is_forced_down else ""
        raise DrillError(f"{host} is already out of service (nova-compute {service.state}, {service.status}{forced}"
                         f"{reason}): a drill fails a healthy host only")
    peers = [peer.host for peer in conn.compute.services(binary="nova-compute")
             if peer.host in found.members and peer.host != host and peer.state == "up"]
    if not peers:
        raise DrillError(f"segment {segment} has no other host up beside {host}: no host monitor would see it fail")
    bmc = _bmc(host, options.fencing_file)
    existing = tuple(sorted(server.name for server in conn.compute.servers(all_projects=True, compute_host=host)))
    if existing and not options.include_existing:
        shown = ", ".join(existing[:MOST_NAMED]) + (", ..." if len(existing) > MOST_NAMED else "")
        raise DrillError(f"{host} holds {len(existing)} servers the drill did not boot ({shown}): a drill fails them "
                         "over too; choose an empty host or pass --include-existing")
    running = [item for item in under_way() if item.get("failover_segment_name") == segment
               or item.get("hostname") in found.members]
    if running:
        named = ", ".join(f"{item['notification_uuid']} ({item['hostname']}, {item['status']})" for item in running)
        raise DrillError(f"a recovery is under way in segment {segment}: {named}; drill once it ended")
    return Target(host, found, bmc, existing if options.include_existing else ())


def _service(conn: Any, host: str) -> Any:
    for service in conn.compute.services(host=host, binary="nova-compute"):
        return service
    raise DrillError(f"unknown host {host}: Nova has no nova-compute service on it")


def _segment(conn: Any, host: str, segment: str) -> Segment:
    try:
        found = segment_of(conn, host)
    except SegmentError as error:
        raise DrillError(str(error)) from error
    if found is None:
        raise DrillError(f"{host} is in no vmha segment: nothing would recover it")
    if found.name != segment:
        raise DrillError(f"{host} is in segment {found.name}, not {segment}")
    return found


def _bmc(host: str, fencing_file: str) -> BmcAccess:
    """The host's BMC, answering with the power on; DrillError otherwise."""
    access = load_fencing_config(fencing_file).get(host) if fencing_file else None
    if access is None:
        raise DrillError(f"{host} has no BMC in the fencing file ({fencing_file or 'none given'}): the drill powers "
                         "the host off through it, as the gateway fences it")
    try:
        state = power_driver(access).power_state()
    except BmcError as error:
        raise DrillError(f"{host}'s BMC does not answer: {error}") from error
    if state is PowerState.OFF:
        raise DrillError(f"{host}'s BMC reports the power off already: a drill fails a running host only")
    return access
