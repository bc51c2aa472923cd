"""The proof ``fence_host`` accepts where a host's BMC is silent and its segment says ``required_or_selffence``.

The host's monitor fenced itself at most its lease after its last heartbeat (``vmha.self_fence``). The
first run that finds the host out of its segment's group, holding an armed lease, records that moment in the
journal (``Journal.note_absence``, time T0, after that last heartbeat); every later run must find it out
still, under the same lease incarnation (back in the group, or in under a new incarnation, restarts the
clock). From T0 + lease + ``MARGIN_SECONDS`` the host has certainly fenced itself: that is recorded as its
fence (method ``self_fence``), with the timing as evidence.
"""

from __future__ import annotations

from datetime import timedelta

from vmha.cloud.segments import Segment
from vmha.context import StepContext
from vmha.functions import locks
from vmha.functions.lease import LeaseUnknownError, Look, Sighting
from vmha.journal import FenceMethod, FenceRecord
from vmha.outcomes import Fail
from vmha.self_fence import MARGIN_SECONDS, SELF_FENCING


def by_lease(ctx: StepContext, notification_id: str, segment: Segment, silent: str,
             look: Look) -> FenceRecord | Fail | str:
    """The host's self-fence recorded as its fence once its lease has certainly run out; a Fail where the lease
    cannot be checked at all; else why not yet. ``silent`` says how the BMC failed to answer."""
    host, url = ctx.notification.hostname, locks.backend_url(ctx.settings)
    if not url:
        return Fail(f"fence not confirmed: {silent}, and without coordination_url the self-fence lease of {host} "
                    f"cannot be checked (segment {segment.name} says vmha:fencing {SELF_FENCING}); nothing is "
                    "evacuated")
    try:
        seen = look(url, segment.name, host)
    except LeaseUnknownError as error:
        return f"{silent}; {error}"
    if seen.member or not seen.leases:
        ctx.journal.clear_absence(notification_id, host)
        return f"{silent}; {_why_not(host, seen)}"
    seconds = max(segment.self_fence_seconds, *(lease.seconds for lease in seen.leases))
    incarnation = ",".join(sorted(lease.incarnation for lease in seen.leases))
    absence = ctx.journal.note_absence(notification_id, host, incarnation)
    due = absence.since + timedelta(seconds=seconds + MARGIN_SECONDS)
    if ctx.now() < due:
        return (f"{silent}; {host} out of its segment's group since {absence.since.isoformat()}: its self-fence "
                f"lease ({seconds} s + {MARGIN_SECONDS} s margin) runs out at {due.isoformat()}")
    return ctx.journal.record_fence(notification_id, host, FenceMethod.SELF_FENCE, {
        "host": host, "bmc_error": silent, "absent_since": absence.since.isoformat(), "incarnation": incarnation,
        "lease_seconds": seconds, "margin_seconds": MARGIN_SECONDS})


def _why_not(host: str, seen: Sighting) -> str:
    if seen.member:
        return f"{host} is still in its segment's group (its monitor heartbeats), so it has not fenced itself"
    return (f"{host} holds no armed self-fence lease (its monitor has no watchdog, never armed one, or was stopped "
            "on purpose), so its absence from the group proves nothing")
