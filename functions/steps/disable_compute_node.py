"""PROCESS: take a host whose nova-compute process died out of scheduling (disable its service).

Only the service's ``disabled`` flag changes: the host's servers keep running and nothing is evacuated
(spec §4.7). The reason names the notification, so the host counts as in maintenance until an operator
enables it again. Converges: an already disabled service is left as it is.
"""

from __future__ import annotations

from vmha.cloud.segments import disabled_reason
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions.nova import at_boundary, failed_host_service
from vmha.outcomes import Done, Outcome


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done once the nova-compute service is disabled."""
    service = failed_host_service(ctx)
    if service.status == "disabled":
        return Done({"already_disabled": True, "disabled_reason": service.disabled_reason})
    reason = disabled_reason(ctx.settings.process_failure.service_disable_reason, message.notification_id)
    ctx.cloud.compute.update_service(service, status="disabled", disabled_reason=reason)
    return Done({"already_disabled": False, "disabled_reason": reason})
