"""Late and contradicted reports: a failure report that what Nova (and the BMC) show now contradicts.

A report may arrive long after it was made (a monitor's spool, a backlog in Zaqar), or be wrong (a monitor
cut off from a healthy host). Intake recovers nothing whose subject has shown itself healthy since the
report was made (intake re-checks every report this way, however late it comes):

- COMPUTE_HOST: its nova-compute is up, not forced down, and reported to Nova after the report was made,
  and its BMC does not say the power is off (the BMC is asked only then): "host alive at recovery time";
- PROCESS (nova-compute): the service is up, not forced down, and reported after the report was made;
- VM: the server is active and running, and Nova updated it after the report was made.

Each error only ever stops a recovery: a healthy host or server wrongly taken for failed is fenced or
restarted, never run twice, so the checks may err on Nova's side of clock skew.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from vmha.cloud.nova import COMPUTE_BINARY, is_down, nova_time
from vmha.contracts import FailureType, Notification
from vmha.fencing import PowerState
from vmha.functions.bmc import power_state

RUNNING = 1
"""Nova's power state of a running server (nova.compute.power_state.RUNNING)."""


def contradiction(notification: Notification, service: Any | None, server: Any | None,
                  fencing_file: str) -> str | None:
    """Why the report is not acted on (its subject is healthy again), None when nothing contradicts it."""
    made = notification.generated_time
    if notification.type is FailureType.COMPUTE_HOST:
        reported = _reported_since(service, made)
        if reported is None or power_state(notification.hostname, fencing_file) is PowerState.OFF:
            return None
        return (f"host alive at recovery time: its nova-compute is up and reported to Nova at "
                f"{reported.isoformat()}, after the failure report of {made.isoformat()}, and its BMC does not "
                "report it powered off")
    if notification.type is FailureType.PROCESS:  # intake recovers nova-compute alone
        reported = _reported_since(service, made)
        if reported is None:
            return None
        return (f"{COMPUTE_BINARY} running again at recovery time: it is up and reported to Nova at "
                f"{reported.isoformat()}, after the failure report of {made.isoformat()}")
    return _server_running_again(server, made)


def _reported_since(service: Any | None, made: datetime) -> datetime | None:
    """When the service last reported, if it is up, not forced down, and reported after ``made``."""
    if service is None or is_down(service):
        return None
    reported = nova_time(service.updated_at)
    return reported if reported is not None and reported > made else None


def _server_running_again(server: Any | None, made: datetime) -> str | None:
    if server is None or server.vm_state != "active" or server.power_state != RUNNING:
        return None
    updated = nova_time(server.updated_at)
    if updated is None or updated <= made:
        return None
    return (f"server running again at recovery time: Nova shows {server.id} active and running, updated at "
            f"{updated.isoformat()}, after the failure report of {made.isoformat()}")
