"""The periodic look at hosts vmha took out of service, and an operator's return of one.

A host is out of service by vmha when its nova-compute service carries vmha's maintenance mark (the disabled
reason ending ``(vmha notification <id>)``, ``vmha.cloud.segments``), and the journal holds that recovery of
that host. Each look reads Nova, the journal and (only for a host whose nova-compute reported since its
recovery ended) the BMC, decides (``decision``) and records or converges (``records``, ``convergence``): it is
safe on any number of gateway replicas at once, since every record and every pass is claimed in the journal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from openstack import exceptions as sdk_errors

from vmha.cloud.nova import COMPUTE_BINARY, compute_service, nova_time
from vmha.cloud.segments import ReturnMode, SegmentError, disabling_notification, segment_of
from vmha.contracts import FailureType, Settings
from vmha.failback import after_return
from vmha.journal import UNDER_WAY, Journal, JsonObject, NotificationDetail
from vmha.returns import records
from vmha.returns.convergence import converge
from vmha.returns.decision import Decision, Facts, Verdict, decide
from vmha.returns.power import power_on

log = logging.getLogger(__name__)


class ReturnRefusedError(Exception):
    """An operator's return cannot be done now; ``status`` is the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Look:
    """What a look decided for one host; ``result`` is the return's once the host is back in service."""

    host: str
    notification_id: str
    verdict: Verdict
    reason: str
    result: JsonObject | None = None


def look_once(settings: Settings, journal: Journal, cloud: Any) -> list[Look]:
    """Look once at every host vmha took out of service; a host whose look failed is logged and skipped."""
    looks = []
    for service in cloud.compute.services(binary=COMPUTE_BINARY):
        detail = _recovery(journal, service)
        if detail is None:
            continue
        try:
            looks.append(look_at(settings, journal, cloud, detail))
        except (sdk_errors.SDKException, SegmentError) as error:
            log.warning("return to service: look failed", extra={"host": service.host, "error": str(error)})
    return looks


def return_host(settings: Settings, journal: Journal, cloud: Any, host: str) -> Look:
    """An operator's return of ``host``: one step now, the rest by the next looks; ReturnRefusedError if it cannot."""
    service = compute_service(cloud, host)
    if service is None:
        raise ReturnRefusedError(404, f"Nova has no nova-compute service on {host}")
    if segment_of(cloud, host) is None:
        raise ReturnRefusedError(404, f"{host} is in no vmha segment")
    notification_id = disabling_notification(service)
    if notification_id is None:
        raise ReturnRefusedError(409, f"{host} is not out of service by a vmha recovery (its nova-compute is "
                                 f"{service.status}, {'forced down' if service.is_forced_down else 'not forced down'})")
    detail = _recovery(journal, service)
    if detail is None:
        raise ReturnRefusedError(409, f"{host} was taken out by notification {notification_id}, which this gateway's "
                                 "journal does not hold")
    looked = look_at(settings, journal, cloud, detail, by_operator=True)
    if looked.verdict is Verdict.WAIT:
        raise ReturnRefusedError(409, looked.reason)
    return looked


def look_at(settings: Settings, journal: Journal, cloud: Any, detail: NotificationDetail, *,
            by_operator: bool = False) -> Look:
    """Decide for the host of the recovery ``detail``, then record the hold or take one step of the return."""
    record = detail.notification
    facts = gather(settings, journal, cloud, detail)
    decider = records.decided(detail) or ("operator" if by_operator else "auto")
    decision = decide(facts, by_operator=by_operator or records.decided(detail) is not None)
    if decision.verdict is Verdict.HOLD and records.record_once(
            journal, record.id, records.HELD, {"host": record.hostname, "reason": decision.reason}):
        journal.add_progress_event(record.id, records.HELD, decision.reason, 1.0)
        log.warning("return to service: host held out", extra={"host": record.hostname, "reason": decision.reason})
    if decision.verdict is not Verdict.RETURN:
        return Look(record.hostname, record.id, decision.verdict, decision.reason)
    return _step(settings, journal, cloud, detail, decision, decider=decider)


def _step(settings: Settings, journal: Journal, cloud: Any, detail: NotificationDetail, decision: Decision, *,
          decider: str) -> Look:
    record = detail.notification
    claim = records.claim_return(journal, record.id)
    if claim is None:
        return Look(record.hostname, record.id, Verdict.RETURN, "another look is returning it, or it is back")
    if records.record_once(journal, record.id, records.DECIDED, {"by": decider, "reason": decision.reason}):
        journal.add_progress_event(record.id, records.RETURNED, decision.reason, 0.0)
    result = converge(cloud, journal, detail)
    if result is None:
        waiting = f"{record.hostname}: forced_down lifted once Nova allows it, enabled at its next report"
        journal.fail_step(claim, f"not yet: {waiting}")
        return Look(record.hostname, record.id, Verdict.RETURN, waiting)
    done = {**result, "by": decider}
    journal.finish_step(claim, done)
    journal.add_progress_event(record.id, records.RETURNED, f"{record.hostname} back in service", 1.0)
    log.info("return to service: host back in service", extra={"host": record.hostname, **done})
    after_return(settings, journal, cloud, detail)
    return Look(record.hostname, record.id, Verdict.RETURN, decision.reason, done)


def gather(settings: Settings, journal: Journal, cloud: Any, detail: NotificationDetail) -> Facts:
    """What Nova, the journal and (for a host that reported since) the BMC say of the recovery's host."""
    host = detail.notification.hostname
    # Read again: the look's detail may predate the recovery's end, and a stale status must not hold the host.
    record = journal.get_notification_record(detail.notification.id) or detail.notification
    service = compute_service(cloud, host)
    reported = nova_time(getattr(service, "updated_at", None))
    since = reported is not None and reported > record.updated_at
    segment = segment_of(cloud, host)
    window = segment.flap_window_seconds if segment else 3600
    powered, power = power_on(host, settings.fencing_file) if since else (False, "not asked")
    return Facts(host=host, notification_id=record.id, recovery_status=record.status,
                 recovery_under_way=(record.id if record.status in UNDER_WAY
                                     else records.recovery_under_way(journal, host)),
                 reported_since_recovery=since, powered_on=powered, power=power,
                 mode=segment.return_to_service if segment else ReturnMode.MANUAL, flap_window_seconds=window,
                 last_return=records.last_return(journal, host, record.generated_time, window),
                 failed_at=record.generated_time)


def _recovery(journal: Journal, service: Any) -> NotificationDetail | None:
    """The host recovery whose mark the service carries, None if none or not in this journal."""
    notification_id = disabling_notification(service)
    detail = journal.get_notification(notification_id, with_events=False) if notification_id else None
    if detail is None or detail.notification.type != FailureType.COMPUTE_HOST.value:
        return None
    return detail if detail.notification.hostname == service.host else None
