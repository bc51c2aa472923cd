"""COMPUTE_HOST, per instance: wait until one server is settled on another host, then finish it off.

Settled: off the failed host with no task in progress (Nova clears the task before the destination takes the server
over, so a server with no task still on the failed host is left behind only once Nova's evacuation record in
os-migrations has ended). Then the plan's after-actions (spec §4.4): stop a server that was not running, reset one
that was in ERROR back to ERROR, unlock it if vmha locked it; and record it ``succeeded`` with its new host. Not
settled yet: Retry after the recheck interval, or later while the evacuation is younger than half the time this
gateway saw evacuations take, and without a read of its own while the gateway's latest listing of the failed host
(``vmha.functions.pacing.SIGHTINGS``, at most 0.5 s old) shows it there with a task in progress, unless Nova
announces the server: its looks are then few and far between, and one read of it costs Nova and the gateway a
fraction of a listing of the whole host (``servers_on``). While Nova has a task in progress, its Retry is
``announced``: a gateway hearing Nova's versioned notifications runs it again as soon as Nova announces the server
may have settled (``vmha.nova_news``), and such a look skips the listing, which may predate the news, to read the
server. The first look at a server Nova announces (followed, no news yet: its evacuation was just requested) reads
nothing and waits for that news, ``nova_notifications.poll_seconds`` at most (or longer while the evacuation is
young): Nova, busy with the evacuations, answers no read that cannot settle anything. Later looks without news are
the fallback poll, which the gateway spaces out while they find nothing new (``NovaNews.poll``): a lost announcement
costs seconds, never the server. Such a look asks Nova's evacuation record first (os-migrations, a fraction of a
server read for Nova) and reads the server only once the record ended: at fifty servers, most fallback looks come
while Nova still has the server queued or rebuilding. Once the task is gone, Nova announces the task's end
(instance.rebuild.end), then moves the server to its new host (an instance.update with its new host). A server a read
showed rebuilt and still on the failed host is remembered (``SIGHTINGS.rebuilt``); so is, until its next news, one
whose news names it on the failed host (rebuild.end and the update clearing the task do): their next looks read
Nova's evacuation record (os-migrations, far cheaper for Nova than a server) and the server only once the record
ended, at the news of the move or, when Nova is not heard, the quick recheck. News naming the server still on the
failed host with no error wakes no held look (``NovaNews.leaving``): the look it would wake only learns that Nova has
yet to move the server, which the news of the move tells. No listing older than such a read makes the server look
busy again. The news only chooses what to read first: what is decided is decided on reads. A server that Nova left on
the failed host or that went to ERROR, or one still unsettled at the step's deadline, is recorded ``failed`` and the
step is Skipped, so that its branch still reaches ``finish_host_recovery``, which fails the notification after
putting an unused reserved host back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vmha.cloud.nova import evacuation_running, get_server, servers_on
from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import pacing, records
from vmha.functions.evacuation import InstancePlan, planned
from vmha.functions.nova import at_boundary, recheck_delay
from vmha.journal import InstanceStatus, NotificationDetail
from vmha.nova_news import NEWS
from vmha.outcomes import Done, Fail, Outcome, Retry, Skipped

_SETTLED = frozenset({InstanceStatus.SUCCEEDED, InstanceStatus.FAILED, InstanceStatus.IGNORED})


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Done once the server is settled elsewhere in its expected state; Retry while it is not."""
    uuid = str(message.instance_uuid)
    detail = records.branch(ctx, message)
    plan = planned(detail, message.instance_uuid)
    settled = _settled_before(detail, uuid)
    if plan is None or settled is not None:
        return settled or Fail(f"server {uuid} is not in the evacuation plan")
    failed_host, recovery = ctx.notification.hostname, str(message.notification_id)
    NEWS.leaving(uuid, failed_host)
    requested = _requested(detail, uuid)
    elapsed = (ctx.now() - requested).total_seconds() if requested is not None else None
    late, followed = _too_late(ctx, message, detail, plan, requested), NEWS.following(uuid)
    if not late and message.attempt == 1 and followed and not NEWS.pending(uuid):
        poll = ctx.settings.nova_notifications.poll_seconds
        return Retry(f"server {uuid}: Nova announces its evacuation; its news is awaited",
                     max(poll, _delay(ctx, message, elapsed)), announced=True)
    news = NEWS.take(uuid)
    # moved next: a server a read showed rebuilt, or one its news names on the failed host with its task over
    moving = pacing.SIGHTINGS.was_rebuilt(recovery, uuid) if news is None else (
        news.host == failed_host and not news.error)
    if not late and (moving or (followed and news is None)):  # the server moving next, or a fallback look
        if evacuation_running(ctx.cloud, uuid, failed_host):
            return _moving(ctx, message, failed_host) if moving else _evacuating(ctx, message, failed_host, elapsed)
    elif not late and news is None and not followed and pacing.SIGHTINGS.busy_on(
            recovery, ctx.now(), uuid, lambda: servers_on(ctx.cloud, failed_host)):
        return Retry(f"server {uuid}: still on {failed_host} with a task in progress", _delay(ctx, message, elapsed),
                     announced=True)
    return _look(ctx, message, detail, plan, requested)


def _look(ctx: StepContext, message: StepMessage, detail: NotificationDetail, plan: InstancePlan,
          requested: datetime | None) -> Outcome:
    """Read the server and settle it, give up on it, or look again later."""
    uuid, failed_host = str(message.instance_uuid), ctx.notification.hostname
    elapsed = (ctx.now() - requested).total_seconds() if requested is not None else None
    server, left_behind = _judged(ctx.cloud, get_server(ctx.cloud, uuid), failed_host)
    if server is None:
        _record(ctx, message, InstanceStatus.IGNORED, "server deleted during evacuation")
        return Skipped(f"server {uuid} no longer exists")
    failure = _failure(server, plan, failed_host, left_behind)
    if failure is not None:
        return _give_up(ctx, message, server, plan, failure)
    if server.task_state is None and server.compute_host != failed_host and _after_actions_done(ctx, server, plan):
        _unlock(ctx, server, plan)
        _record(ctx, message, InstanceStatus.SUCCEEDED, f"on {server.compute_host}", server.compute_host)
        if elapsed is not None and not plan.stop_after:
            pacing.SETTLING.settled(elapsed)
        return Done({"host": server.compute_host, "vm_state": server.vm_state})
    if _too_late(ctx, message, detail, plan, requested):
        return _give_up(ctx, message, server, plan, f"not settled before the deadline ({server.vm_state}, "
                                                    f"task {server.task_state}, on {server.compute_host})")
    if server.task_state is None and server.compute_host == failed_host:
        pacing.SIGHTINGS.rebuilt(str(message.notification_id), uuid, ctx.now())
        return _moving(ctx, message, failed_host)
    return Retry(f"server {uuid}: {server.vm_state}, task {server.task_state}, on {server.compute_host}",
                 _delay(ctx, message, elapsed), announced=server.task_state is not None)


def _moving(ctx: StepContext, message: StepMessage, failed_host: str) -> Retry:
    """Rebuilt, still on the failed host, Nova's evacuation record not ended: Nova moves it next (and announces
    the move), so the look comes again at the quick recheck, or at that news when Nova is heard."""
    return Retry(f"server {message.instance_uuid}: rebuilt, Nova is moving it off {failed_host}",
                 recheck_delay(ctx, message), announced=True)


def _evacuating(ctx: StepContext, message: StepMessage, failed_host: str, elapsed: float | None) -> Retry:
    """Nova's evacuation record has not ended: a read of the server could settle nothing, so the look comes again
    at Nova's news, or at the next fallback poll."""
    return Retry(f"server {message.instance_uuid}: Nova's evacuation of it off {failed_host} has not ended",
                 _delay(ctx, message, elapsed), announced=True)


def _delay(ctx: StepContext, message: StepMessage, elapsed: float | None) -> float:
    """The recheck delay, or longer while the evacuation is young (``pacing.SETTLING``)."""
    wait = 0.0 if elapsed is None else pacing.SETTLING.wait(elapsed)
    return max(wait, recheck_delay(ctx, message))


def _settled_before(detail: NotificationDetail, uuid: str) -> Outcome | None:
    """The outcome of a server already settled by an earlier run (or by evacuate_instance), if any."""
    recorded = next((item for item in detail.instances if item.instance_uuid == uuid), None)
    if recorded is None or recorded.status not in _SETTLED:
        return None
    if recorded.status is InstanceStatus.SUCCEEDED:
        return Done({"host": recorded.dest_host})
    return Skipped(f"server {uuid} {recorded.status.value}: {recorded.message}")


def _requested(detail: NotificationDetail, uuid: str) -> datetime | None:
    """When Nova accepted the server's evacuation: its last ``ongoing`` record, else evacuate_instance's end."""
    ongoing = next((item.updated_at for item in detail.instances
                    if item.instance_uuid == uuid and item.status is InstanceStatus.ONGOING), None)
    return ongoing or records.finished_at(detail, "evacuate_instance", uuid)


def _too_late(ctx: StepContext, message: StepMessage, detail: NotificationDetail, plan: InstancePlan,
              requested: datetime | None) -> bool:
    """Past the evacuation ceiling (plus the power-off one when the server is to be stopped) since the request."""
    ceilings = ctx.settings.ceilings
    seconds = ceilings.evacuation_seconds + (ceilings.power_off_seconds if plan.stop_after else 0)
    return records.too_late(ctx, message, requested, seconds)


def _judged(cloud: Any, server: Any | None, failed_host: str) -> tuple[Any | None, bool]:
    """The server to judge (None: deleted), and whether Nova left it on the failed host.

    A server read with no task on the failed host is left behind only if Nova's evacuation record has ended
    and a read after that still shows it there: Nova moves the server before it marks the evacuation done, so
    the first read may show the old host of an evacuation that has just succeeded. That second read is the
    one judged, whatever it shows (a server it shows settled is settled now, not at the next look).
    """
    if server is None or server.task_state is not None or server.compute_host != failed_host:
        return server, False
    if evacuation_running(cloud, server.id, failed_host):
        return server, False
    again = get_server(cloud, server.id)
    return again, again is not None and again.task_state is None and again.compute_host == failed_host


def _failure(server: Any, plan: InstancePlan, failed_host: str, left_behind: bool) -> str | None:
    if left_behind:
        return f"Nova left the server on {failed_host} ({server.vm_state}{_fault(server)}); see its instance actions"
    if server.task_state is None and server.compute_host != failed_host and server.vm_state == "error" \
            and not plan.error_after:
        return f"the server went to ERROR on {server.compute_host}"
    return None


def _fault(server: Any) -> str:
    """Nova's fault message of a server it gave up on (e.g. no valid host), as ``: message``."""
    fault = getattr(server, "fault", None)
    message = fault.get("message") if isinstance(fault, dict) else None
    return f": {message}" if message else ""


def _after_actions_done(ctx: StepContext, server: Any, plan: InstancePlan) -> bool:
    """Run the next after-action; True when none is left."""
    if plan.stop_after and server.vm_state == "active":
        ctx.cloud.compute.stop_server(server)
        return False
    if plan.error_after and server.vm_state != "error":
        ctx.cloud.compute.reset_server_state(server, "error")
    return True


def _give_up(ctx: StepContext, message: StepMessage, server: Any, plan: InstancePlan, reason: str) -> Outcome:
    _unlock(ctx, server, plan)
    _record(ctx, message, InstanceStatus.FAILED, reason)
    return Skipped(f"evacuation of {server.id} failed: {reason}")


def _unlock(ctx: StepContext, server: Any, plan: InstancePlan) -> None:
    if not plan.locked and server.is_locked:
        ctx.cloud.compute.unlock_server(server)


def _record(ctx: StepContext, message: StepMessage, status: InstanceStatus, text: str, dest: str | None = None) -> None:
    ctx.journal.record_instance_progress(
        str(message.notification_id), str(message.instance_uuid), status, dest_host=dest, message=text
    )
