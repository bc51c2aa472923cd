"""Proof of death: what a step must find in the journal before it starts a server elsewhere.

The first rule of high availability: never run a server twice. Evacuating a server whose host may still run
it puts two copies on one disk. So ``evacuate_instance`` starts nothing unless the journal holds a fence
record for its notification's host: ``fence_host`` writes one when the host's BMC confirmed the power off
(method ``redfish`` or ``ipmi``, with the BMC's answer). The only other way is an explicit opt-out: a segment
saying ``vmha:fencing disabled`` gets an ``opted_out`` record instead, and a warning at every recovery.

The check is made by the step that does the harm, whatever brought its message (the steps queue, Lambda
Invoke, a Qinling execution, ``openstack vmha function invoke``), so neither a custom flow without
``fence_host`` nor a forged message can skip it.
"""

from __future__ import annotations

import logging

from vmha.cloud.segments import Fencing, Segment, segment_named
from vmha.context import StepContext
from vmha.journal import FenceMethod, FenceRecord
from vmha.outcomes import Fail

log = logging.getLogger(__name__)


def proof_of_death(ctx: StepContext, notification_id: str) -> FenceRecord | Fail:
    """The fence recorded for the notification's host (an opt-out recorded now if its segment opts out), or
    a Fail saying why nothing may be started elsewhere."""
    host = ctx.notification.hostname
    fence = ctx.journal.get_fence(notification_id, host)
    if fence is not None:
        return fence
    record = ctx.journal.get_notification_record(notification_id)
    name = None if record is None else record.segment
    if name is None:
        return Fail(f"no proof that {host} is dead: it is in no segment and no fence is recorded; nothing is "
                    "evacuated")
    segment = segment_named(ctx.cloud, name)
    if segment.fencing is Fencing.DISABLED:
        return waive(ctx, notification_id, segment)
    return Fail(f"no proof that {host} is dead: segment {name} requires fencing (vmha:fencing "
                f"{segment.fencing.value}) and no fence is recorded for notification {notification_id}; "
                "nothing is evacuated")


def waive(ctx: StepContext, notification_id: str, segment: Segment) -> FenceRecord:
    """Record that ``segment`` opts out of fencing for this recovery, and say so loudly."""
    host = ctx.notification.hostname
    log.warning(opt_out_warning(segment.name, host), extra={"notification_id": notification_id, "host": host})
    return ctx.journal.record_fence(notification_id, host, FenceMethod.OPTED_OUT,
                                    {"segment": segment.name, "fencing": Fencing.DISABLED.value})


def opt_out_warning(segment: str, host: str) -> str:
    """What every recovery in a segment that opts out of fencing says."""
    return (f"segment {segment} opts out of fencing (vmha:fencing disabled): the servers of {host} are "
            "evacuated WITHOUT proof that it is dead")
