"""VM: start the stopped server again through Nova.

Converges: a server already ACTIVE or already starting is Done. Anything but SHUTOFF is a Fail, as in
Masakari ("expected STOPPED"): another actor changed the server meanwhile.
"""

from __future__ import annotations

from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions.nova import at_boundary, notified_server
from vmha.outcomes import Done, Fail, Outcome


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done once Nova accepted the start (or the server is already active or starting)."""
    server = notified_server(ctx, "start_instance")
    if server.vm_state == "active" or server.task_state == "powering-on":
        return Done({"started": False, "vm_state": server.vm_state})
    if server.vm_state != "stopped":
        return Fail(f"expected server {server.id} stopped, found {server.vm_state} (task {server.task_state})")
    ctx.cloud.compute.start_server(server)
    return Done({"started": True})
