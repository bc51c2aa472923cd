"""COMPUTE_HOST: fence the failed host before anything is moved off it (hook until fencing lands).

Present in every host flow so that operators' flows already have its place. A segment that requires
fencing (``vmha:fencing: required``) fails here, since no fencing driver exists yet: evacuating a host
that may still be running would let two copies of a server write to shared storage.
"""

from __future__ import annotations

from vmha.context import StepContext
from vmha.contracts import StepMessage
from vmha.functions import records
from vmha.functions.nova import at_boundary
from vmha.functions.segments import Fencing, segment_named
from vmha.outcomes import Fail, Outcome, Skipped


@at_boundary
def run(message: StepMessage, ctx: StepContext) -> Outcome:
    """Skipped when fencing is not configured; Fail when the segment requires it."""
    name, _method = records.segment_and_method(records.recovery(ctx, message))
    if name is not None and segment_named(ctx.cloud, name).fencing is Fencing.REQUIRED:
        return Fail(f"segment {name} requires fencing but no fencing driver is available")
    return Skipped("fencing not configured")
