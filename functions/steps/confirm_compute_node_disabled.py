"""PROCESS: confirm that Nova reports the host's nova-compute service disabled.

Retry after the recheck interval until it does; Fail at the step's deadline (Masakari:
wait_period_after_service_update).
"""

from __future__ import annotations

from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import records
from vmha.functions.nova import at_boundary, failed_host_service, recheck_delay
from vmha.outcomes import Done, Fail, Outcome, Retry


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done when disabled."""
    host = ctx.notification.hostname
    service = failed_host_service(ctx)
    if service.status == "disabled":
        return Done({"disabled_reason": service.disabled_reason})
    disabled = records.finished_at(records.recovery(ctx, message), "disable_compute_node")
    if records.too_late(ctx, message, disabled, ctx.settings.ceilings.service_disable_seconds):
        return Fail(f"Nova still reports the nova-compute service of {host} enabled")
    return Retry(f"waiting for Nova to report {host} disabled", recheck_delay(ctx, message))
