"""VM: stop the failed server through Nova, after checking it is not crash-looping.

A server restarted ``instance_failure.restart_limit`` times within ``restart_window_seconds`` (counted in
the journal: earlier VM notifications for it whose ``start_instance`` succeeded) is left alone and the
notification fails, so a server that crashes on every boot is not restarted forever. A RESIZED server is
reset to ACTIVE first (Nova only stops ACTIVE, SHUTOFF-able servers). Converges: Done once the server is
stopped; while Nova is stopping it, Retry; Nova answering 409 because its power sync already stopped it
is not an error (LP #1980736). Once ``start_instance`` has run for the notification, it never stops the
server again.

A hung guest (``QEMU_GUEST_AGENT_ERROR``) that Nova still shows running is not stopped but hard-rebooted on
its host, as vSphere HA's VM monitoring resets a VM: Nova's stop is a clean shutdown, which goes to the very
agent that hangs and then waits out Nova's ``shutdown_timeout`` (about 150 s of a 170 s recovery of a real
guest here), while a hard reboot destroys and starts the domain at once. Done once Nova accepted it (or is
rebooting the server already); ``start_instance`` then finds the server active and
``confirm_instance_active`` waits for the reboot to end. Masakari stops and starts in every case.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from vmha.cloud.nova import get_server
from vmha.context import StepContext
from vmha.contracts import StepMessage, VmEvent, VmPayload
from vmha.functions import records
from vmha.functions.nova import Conflict, at_boundary, recheck_delay
from vmha.journal import NotificationFilter
from vmha.outcomes import Done, Fail, Outcome, Retry

_PAGE = 1000
HARD_REBOOTING = frozenset({"reboot_pending_hard", "reboot_started_hard", "rebooting_hard"})
"""Nova's task states of a hard reboot under way."""


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done when the server is stopped (a hung guest: once its hard reboot was asked); Fail when it is gone or
    restarted too often."""
    payload = ctx.notification.payload
    if not isinstance(payload, VmPayload):
        return Fail("stop_instance handles VM notifications only")
    settled = _settled_or_refused(ctx, message, str(payload.instance_uuid))
    if settled is not None:
        return settled
    server = get_server(ctx.cloud, payload.instance_uuid)
    if server is None:
        return Fail(f"server {payload.instance_uuid} no longer exists")
    if server.vm_state == "stopped" or (payload.event is VmEvent.QEMU_GUEST_AGENT_ERROR
                                        and server.vm_state == "active"):
        return _stopped_or_rebooted(ctx, server)
    if records.too_late(ctx, message, None, ctx.settings.ceilings.power_off_seconds):
        return Fail(f"server {server.id} did not stop in time ({server.vm_state}, task {server.task_state})")
    if server.task_state is None:
        _request_stop(ctx, server)
    return Retry(f"waiting for server {server.id} to stop", recheck_delay(ctx, message))


def _settled_or_refused(ctx: StepContext, message: StepMessage, instance_uuid: str) -> Outcome | None:
    if records.step_result(records.recovery(ctx, message), "start_instance") is not None:
        return Done({"already_restarted": True})
    limits = ctx.settings.instance_failure
    restarts = recent_restarts(ctx, message, instance_uuid)
    if restarts >= limits.restart_limit:
        return Fail(f"server {instance_uuid} was restarted {restarts} times in the last "
                    f"{limits.restart_window_seconds} s (limit {limits.restart_limit}): leaving it alone")
    return None


def _stopped_or_rebooted(ctx: StepContext, server: Any) -> Outcome:
    """Done for a stopped server; an active one (a hung guest) rebooted the hard way first, unless Nova is
    rebooting it already (an earlier run asked)."""
    if server.vm_state == "stopped":
        return Done({"vm_state": "stopped"})
    if server.task_state not in HARD_REBOOTING:
        ctx.cloud.compute.reboot_server(server, "HARD")
    return Done({"vm_state": "active", "hard_reboot": True})


def _request_stop(ctx: StepContext, server: Any) -> None:
    compute = ctx.cloud.compute
    if server.vm_state == "resized":
        compute.reset_server_state(server, "active")
    with contextlib.suppress(Conflict):  # already stopping, or stopped by Nova's power sync: checked next run
        compute.stop_server(server)


def recent_restarts(ctx: StepContext, message: StepMessage, instance_uuid: str) -> int:
    """How many earlier notifications in the window restarted this server (start_instance succeeded)."""
    window = timedelta(seconds=ctx.settings.instance_failure.restart_window_seconds)
    since = ctx.now() - window
    earlier = ctx.journal.list_notifications(NotificationFilter(type="VM", generated_since=since), limit=_PAGE)
    count = 0
    for notification in earlier:
        if notification.id == str(message.notification_id):
            continue
        if notification.payload.get("instance_uuid") != instance_uuid:
            continue
        detail = ctx.journal.get_notification(notification.id)
        if detail is not None and records.step_result(detail, "start_instance") is not None:
            count += 1
    return count
