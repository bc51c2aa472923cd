"""COMPUTE_HOST: choose the servers to evacuate off the failed host, in priority order, and fan out.

Selection (spec §4.3): servers with ``ha_enabled_metadata_key`` true, then, with
``host_failure.evacuate_all_instances``, every other one; servers in ERROR are left when
``ignore_instances_in_error_state``; excluded tags, projects and images (``exclusions``, e.g. load-balancer
amphorae) are never evacuated. Order: highest ``priority_metadata_key`` first, servers without one last,
HA-enabled before the others at equal priority. Each planned server is recorded ``pending`` with its
evacuation plan (vmha.functions.evacuation); a re-run re-plans only what is still on the failed host and
resets its progress, so failures of an earlier attempt never count against this one.
An empty plan is a Done with no fan-out: the runtime goes straight to the join step.
"""

from __future__ import annotations

from uuid import UUID

from vmha.cloud.evacuees import evacuees
from vmha.cloud.nova import servers_on
from vmha.cloud.segment_policy import applied
from vmha.cloud.segments import segment_named
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import records
from vmha.functions.evacuation import PLANNED, plan_for
from vmha.functions.nova import at_boundary
from vmha.journal import InstanceStatus
from vmha.outcomes import Done, Outcome


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done with the plan as result and the chosen servers' uuids as fan-out."""
    host = ctx.notification.hostname
    name, _method = records.segment_and_method(records.recovery(ctx, message))
    segment = segment_named(ctx.cloud, name) if name is not None else None
    settings = ctx.settings if segment is None else applied(ctx.settings, segment.policy)
    chosen, left = evacuees(servers_on(ctx.cloud, host), settings)
    record = ctx.journal.record_instance_progress
    notification_id = str(message.notification_id)
    for uuid, reason in left.items():
        record(notification_id, uuid, InstanceStatus.IGNORED, source_host=host, message=reason)
    for server in chosen:
        record(notification_id, server.id, InstanceStatus.PENDING, source_host=host, message=PLANNED)
    plans = {server.id: plan_for(server).to_dict() for server in chosen}
    return Done({"instances": plans, "left": left}, fan_out=tuple(UUID(server.id) for server in chosen))
