"""Undoing what a recovery did to a host that is back, one step per look (never a sleeping loop):

1. lift forced_down (Nova refuses while the restarted nova-compute has not completed the host's evacuation
   records: the next look tries again); the next look keeps the service record's ``updated_at``;
2. once the host's nova-compute wrote its record again (Nova counts an un-forced service up on the dead
   process's last heartbeat, so only a new write proves the new process), give back the reserved host the
   recovery took into service if it holds no server and no recovery of the segment is under way (disabled
   again with its previous reason, out of the aggregates it was added to), then enable the service, which
   drops vmha's maintenance mark: last, since a host without the mark is no longer looked at. A service
   whose disabled reason no longer carries this recovery's mark was changed by someone else and is left as
   it is.

Nothing is started on the host: the servers evacuated from it run elsewhere, and its restarted nova-compute
destroys their local copies itself. Every call goes through the gateway's OpenStack connection, whose
requests carry its timeout.
"""

from __future__ import annotations

import contextlib
from typing import Any

from openstack import exceptions as sdk_errors

from vmha.cloud.nova import compute_service, servers_on
from vmha.cloud.segments import disabling_notification
from vmha.journal import Journal, JsonObject, NotificationDetail
from vmha.returns import records

TAKEN = "take_reserved_host"
FINISHED = "finish_host_recovery"
"""The recovery steps whose results say which reserved host was taken, and whether it was given back."""
SPARE_REASON = "vmha: back in reserve after the host it stood in for returned to service"


def converge(cloud: Any, journal: Journal, detail: NotificationDetail) -> JsonObject | None:
    """One step towards the host back in service; the return's result once it is, None while not yet."""
    host, notification_id = detail.notification.hostname, detail.notification.id
    service = compute_service(cloud, host)
    if service is None:
        return None
    if service.is_forced_down:
        with contextlib.suppress(sdk_errors.BadRequestException):  # evacuation records not completed yet
            cloud.compute.update_service(service.id, forced_down=False)
        return None
    unforced = records.result(detail, records.UNFORCED)
    if unforced is None:  # the next look's read is after the un-force: a later write is the new process's
        records.record_once(journal, notification_id, records.UNFORCED, {"updated_at": service.updated_at})
        return None
    if service.state != "up" or service.updated_at == unforced.get("updated_at"):
        return None
    spare = _spare_back(cloud, journal, detail)  # first: once enabled, the host is no longer looked at
    enabled = disabling_notification(service) == notification_id
    if enabled:
        cloud.compute.update_service(service.id, status="enabled")
    return {"host": host, "enabled": enabled, "reserved_host_back": spare}


def _spare_back(cloud: Any, journal: Journal, detail: NotificationDetail) -> str | None:
    """Disable again the reserved host the recovery took, if it is unused; its name, None if it stays."""
    taken = records.result(detail, TAKEN) or {}
    spare = taken.get("reserved_host")
    released = (records.result(detail, FINISHED) or {}).get("released")
    segment = detail.notification.segment
    if not spare or released == spare or servers_on(cloud, spare):
        return None
    if segment and records.segment_under_way(journal, segment):
        return None
    service = compute_service(cloud, spare)
    if service is None or service.status == "disabled":
        return None
    cloud.compute.update_service(service.id, status="disabled",
                                 disabled_reason=taken.get("previous_reason") or SPARE_REASON)
    for aggregate in taken.get("aggregates_added", ()):
        with contextlib.suppress(sdk_errors.ConflictException, sdk_errors.NotFoundException):  # removed already
            cloud.compute.remove_host_from_aggregate(aggregate, spare)
    return str(spare)

