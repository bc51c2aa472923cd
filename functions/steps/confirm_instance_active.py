"""VM: wait until the restarted server is ACTIVE with no task in progress.

Retry after the recheck interval while it is starting; Fail when it went to ERROR or back to SHUTOFF, or
at the step's deadline (Masakari: wait_period_after_power_on).
"""

from __future__ import annotations

from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import records
from vmha.functions.nova import at_boundary, notified_server, recheck_delay
from vmha.outcomes import Done, Fail, Outcome, Retry


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done when active; Retry while starting; Fail otherwise."""
    server = notified_server(ctx, "confirm_instance_active")
    state = f"{server.vm_state}, task {server.task_state}"
    if server.vm_state == "active" and server.task_state is None:
        return Done({"vm_state": "active", "host": server.compute_host})
    if server.vm_state == "error" or (server.vm_state == "stopped" and server.task_state is None):
        return Fail(f"server {server.id} did not come back: {state}")
    started = records.finished_at(records.recovery(ctx, message), "start_instance")
    if records.too_late(ctx, message, started, ctx.settings.ceilings.power_on_seconds):
        return Fail(f"server {server.id} not active before the deadline: {state}")
    return Retry(f"waiting for server {server.id} to start: {state}", recheck_delay(ctx, message))
