"""Intake (``vmha.functions.intake``): turn a validated notification into a recovery with its flow, or not.

1. Admission (``vmha.admission``: the rules the Masakari API and the webhooks apply too): the host's segment
   and nova-compute service read from Nova, then the notification recorded in the journal once, with its
   segment (a VM failure's server is read first: Nova down, nothing is recorded and intake runs again). A
   refusal is answered ``Ignore`` (already received, duplicate, host in maintenance, segment disabled) or
   ``Fail`` (a misconfigured segment; an actionable failure of a host in no segment: nothing can recover it,
   Masakari answers 400, so the sender's error is failed and dead-lettered; a report needing no action is
   ignored wherever it comes from).
2. Decide whether the event calls for a recovery (Masakari's rules, spec §2-§5), returning:

   - ``Ignore(reason)``: the event is not actionable:
     COMPUTE_HOST ``STARTED``, without ``host_status``, or ``UNKNOWN`` (power-off not confirmed) in a
     segment that opts out of fencing (elsewhere ``fence_host`` proves it first); a report its host,
     process or server contradicts now (``vmha.functions.late_reports``: "host alive at recovery time");
     PROCESS
     ``STARTED`` or not ``nova-compute``, a VM event that is not a failure, a server that is gone, not
     HA-enabled (unless ``process_all_instances``), excluded, paused or rescued; or a COMPUTE_HOST
     failure of a host whose recovery by another notification is under way (one recovery per host at a
     time: decided under the host's lock, ``vmha.functions.locks``, and marked in the journal).
   - ``Fail(reason)``: an invalid custom flows file.
   - ``Recover(flow, segment, recovery_method)``.

An id recorded before whose status is still ``new`` (intake crashed before the flow was posted) is
processed again; one already past ``new`` is answered with Ignore, and its status must be left as it is.
"""

from __future__ import annotations

from typing import Any

from vmha.admission import Refused, Rule, judge, record
from vmha.cloud.evacuees import exclusion
from vmha.cloud.evacuees import ha_enabled as is_ha_enabled
from vmha.cloud.nova import COMPUTE_BINARY, get_server
from vmha.cloud.segment_policy import applied
from vmha.cloud.segments import Fencing, Segment
from vmha.context import StepContext
from vmha.contracts import (
    ContractError,
    FailureType,
    HostEvent,
    HostPayload,
    HostStatus,
    Notification,
    ProcessEvent,
    ProcessPayload,
    Settings,
    VirDomainEvent,
    VmEvent,
    VmPayload,
)
from vmha.functions import locks
from vmha.functions.late_reports import contradiction
from vmha.functions.locks import Scope
from vmha.functions.nova import BOUNDARY_ERRORS, error_outcome
from vmha.functions.records import INTAKE
from vmha.functions.registry import custom_flows, resolve_flow
from vmha.journal import UNDER_WAY, NotificationFilter
from vmha.outcomes import Fail, Ignore, IntakeOutcome, Recover

ACTIONABLE_VM_EVENTS = frozenset({
    (VmEvent.LIFECYCLE, VirDomainEvent.STOPPED_FAILED),
    (VmEvent.IO_ERROR, VirDomainEvent.IO_ERROR_REPORT),
    (VmEvent.QEMU_GUEST_AGENT_ERROR, VirDomainEvent.STOPPED_FAILED),
})
HOST_CLAIM = "recovering host "
"""Intake's progress event marking the one notification whose flow recovers a host (``HOST_CLAIM + host``)."""


def run(notification: Notification, ctx: StepContext) -> IntakeOutcome:
    """Admit and record ``notification``, then return its flow, or why it is ignored or failed."""
    try:
        judged = judge(notification, ctx.cloud, ctx.journal, ctx.settings)
        server = _server(notification, ctx.cloud)
    except BOUNDARY_ERRORS as error:
        return error_outcome(error, ctx.settings.retry.initial_delay_seconds)
    decision = record(notification, judged, ctx.journal, ctx.settings)
    if isinstance(decision, Refused):
        return _refusal(notification, decision, server, ctx.settings)
    reason = (_event_reason(notification, server, decision.segment, ctx.settings)
              or contradiction(notification, decision.service, server, ctx.settings.fencing_file))
    if reason is not None:
        return Ignore(reason)
    return _flow(notification, decision.segment, ctx)


def _server(notification: Notification, cloud: Any) -> Any | None:
    payload = notification.payload
    return get_server(cloud, payload.instance_uuid) if isinstance(payload, VmPayload) else None


def _refusal(notification: Notification, refused: Refused, server: Any | None, settings: Settings) -> Ignore | Fail:
    """A misconfigured segment fails; a host in no segment fails unless its report needs no action anyway."""
    if refused.rule is Rule.INVALID_SEGMENT:
        return Fail(refused.reason)
    if refused.rule is Rule.UNKNOWN_HOST:
        not_actionable = _event_reason(notification, server, None, settings)
        return Ignore(not_actionable) if not_actionable else Fail(refused.reason)
    return Ignore(refused.reason)


def _claim_host(notification: Notification, ctx: StepContext) -> Ignore | None:
    """Ignore when another recovery of the host is under way; else mark this one as the host's recovery.

    The mark is a progress event, so a redelivered notification finds its own mark and goes on; a recovery
    stops counting once its notification has ended (finished, failed, or past its ceiling).
    """
    host, own = notification.hostname, str(notification.id)
    found = ctx.journal.list_notifications(
        NotificationFilter(statuses=UNDER_WAY, type=FailureType.COMPUTE_HOST.value, hostname=host))
    claims = {record.id: _claims(ctx, record.id, host) for record in found}
    other = next((nid for nid, claimed in claims.items() if claimed and nid != own), None)
    if other is not None:
        return Ignore(f"host {host} is already being recovered by notification {other}")
    if not claims.get(own):
        ctx.journal.add_progress_event(own, INTAKE, HOST_CLAIM + host, 1.0)
    return None


def _claims(ctx: StepContext, notification_id: str, host: str) -> bool:
    detail = ctx.journal.get_notification(notification_id)
    return detail is not None and any(
        event.step_id == INTAKE and event.message == HOST_CLAIM + host for event in detail.events)


def _event_reason(
    notification: Notification, server: Any | None, segment: Segment | None, settings: Settings
) -> str | None:
    payload = notification.payload
    if isinstance(payload, HostPayload):
        return _host_event_reason(payload, segment)
    if isinstance(payload, ProcessPayload):
        return _process_event_reason(payload)
    return _vm_event_reason(payload, server, settings if segment is None else applied(settings, segment.policy))


def _host_event_reason(payload: HostPayload, segment: Segment | None) -> str | None:
    """NORMAL says the power is off; UNKNOWN is recovered only where the flow proves it first (fence_host)."""
    if payload.event is HostEvent.STARTED:
        return "host started: nothing to recover"
    if payload.host_status is None:
        return "no host_status: the host is not known to be powered off, evacuating would be unsafe"
    fences = segment is not None and segment.fencing is not Fencing.DISABLED
    if payload.host_status is HostStatus.UNKNOWN and fences:
        return None
    if payload.host_status is not HostStatus.NORMAL:
        return (f"host_status {payload.host_status.value}: power-off not confirmed and the segment does not fence, "
                "evacuating would be unsafe")
    return None


def _process_event_reason(payload: ProcessPayload) -> str | None:
    if payload.event is ProcessEvent.STARTED:
        return f"process {payload.process_name} started: nothing to recover"
    if payload.process_name != COMPUTE_BINARY:
        return f"no recovery for process {payload.process_name} (only {COMPUTE_BINARY})"
    return None


def _vm_event_reason(payload: VmPayload, server: Any | None, settings: Settings) -> str | None:
    if (payload.event, payload.vir_domain_event) not in ACTIONABLE_VM_EVENTS:
        return f"VM event {payload.event.value}/{payload.vir_domain_event.value} is not a failure"
    if server is None:
        return f"server {payload.instance_uuid} does not exist"
    process_all = settings.instance_failure.process_all_instances
    if not process_all and not is_ha_enabled(server, settings.ha_enabled_metadata_key):
        return f"server {server.id} is not HA-enabled ({settings.ha_enabled_metadata_key})"
    excluded = exclusion(server, settings.exclusions)
    if excluded is not None:
        return f"server {server.id}: {excluded}"
    if server.vm_state in ("paused", "rescued"):
        return f"server {server.id} is {server.vm_state}: not restarted"
    return None


def _flow(notification: Notification, segment: Segment, ctx: StepContext) -> IntakeOutcome:
    """The flow; a host's, only once this notification holds the host's recovery (``_claim_host``)."""
    method, settings = segment.recovery_method, ctx.settings
    try:
        flow = resolve_flow(notification.type, method, custom_flows(settings))
    except (ContractError, OSError) as error:
        return Fail(f"custom flows file {settings.custom_flows_file}: {error}")
    done = Recover(tuple(flow), segment.name, method.value)
    if notification.type is not FailureType.COMPUTE_HOST:
        return done
    return locks.exclusive(ctx, Scope.HOST, notification.hostname, lambda: _claim_host(notification, ctx)) or done
