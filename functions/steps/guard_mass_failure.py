"""COMPUTE_HOST: refuse automatic evacuation when too many hosts of the segment are down at once.

Many hosts failing together is far more often a network partition or a control-plane fault than real
host failures; evacuating then would start second copies of healthy servers. Like RHOSO InstanceHA, the
recovery stops when more than ``host_failure.mass_failure_share`` of the segment's hosts are down (missed
heartbeats or forced down), counting the failed host itself. It runs before anything is changed, and asks Nova
for every compute service in one listing.
"""

from __future__ import annotations

from vmha.cloud.nova import compute_services, is_down
from vmha.cloud.segment_policy import applied
from vmha.cloud.segments import segment_named
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import records
from vmha.functions.nova import at_boundary
from vmha.outcomes import Done, Fail, Outcome


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done when the share of down hosts is within the limit; Fail naming the down hosts otherwise."""
    failed = ctx.notification.hostname
    name, _method = records.segment_and_method(records.recovery(ctx, message))
    segment = segment_named(ctx.cloud, name) if name is not None else None
    members = segment.members if segment is not None else ()
    hosts = tuple(dict.fromkeys((*members, failed)))
    services = compute_services(ctx.cloud)  # one listing, however many hosts the segment has
    known = [host for host in hosts if host in services or host == failed]
    down = sorted(host for host in known if host == failed or is_down(services[host]))
    settings = ctx.settings if segment is None else applied(ctx.settings, segment.policy)
    share, limit = len(down) / len(known), settings.host_failure.mass_failure_share
    result = {"down": down, "hosts": len(known), "share": round(share, 3)}
    if share > limit:
        return Fail(
            f"mass failure: {len(down)} of {len(known)} hosts of segment {name} are down ({', '.join(down)}), "
            f"more than the {limit:.0%} allowed; evacuate by hand if this is real"
        )
    return Done(result)
