"""COMPUTE_HOST: mark the failed host's nova-compute service forced down, then disabled with a reason.

Forced down first: Nova only evacuates from a host it considers down, and disabling a service Nova still
thinks is up blocks for about a minute inside Nova. The disabled reason names the notification, so the
host shows as taken out by vmha (and counts as in maintenance) until an operator enables it again.
"""

from __future__ import annotations

from vmha.cloud.segments import disabled_reason
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import records
from vmha.functions.nova import at_boundary, failed_host_service, recheck_delay
from vmha.outcomes import Done, Fail, Outcome, Retry


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done once the service is forced down, down and disabled with vmha's reason."""
    host = ctx.notification.hostname
    compute = ctx.cloud.compute
    service = failed_host_service(ctx)
    if not service.is_forced_down:
        service = compute.update_service(service, forced_down=True)
    if service.state != "down":
        if records.too_late(ctx, message, None, ctx.settings.ceilings.service_disable_seconds):
            return Fail(f"Nova still reports {host} up although it is forced down")
        return Retry(f"waiting for Nova to report {host} down", recheck_delay(ctx, message))
    reason = disabled_reason(ctx.settings.host_failure.service_disable_reason, message.notification_id)
    if service.status != "disabled" or service.disabled_reason != reason:
        service = compute.update_service(service, status="disabled", disabled_reason=reason)
    return Done({"host": host, "service": service.id, "disabled_reason": reason})
