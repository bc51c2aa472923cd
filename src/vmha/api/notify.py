"""Accepting a notification through the API (Masakari's ``POST /v1/notifications``, the Aodh webhook).

Admission's rules (``vmha.admission``) answer as Masakari's API does: a host in no segment or a misconfigured
segment 400, a host in maintenance, a duplicate or an id received before 409, and such a refused request leaves
nothing behind. An admitted one is posted to the notifications queue, the one durable entry of every recovery
(the consumers' intake takes it from there), then recorded with its segment: posted first, so that a journal
that cannot record it does not leave a ``new`` notification that nothing will ever recover. A notification of a
disabled segment is accepted the same way, as Masakari's API accepts it: the consumers' admission then ignores it
(as Masakari's engine does). Nova unreachable: 503.
"""

from __future__ import annotations

from keystoneauth1 import exceptions as keystone_errors
from openstack import exceptions as sdk_errors

from vmha.admission import Admitted, Refused, Rule, judge, record
from vmha.api.web import ApiError
from vmha.contracts import Notification
from vmha.journal import NotificationRecord
from vmha.runtime import Services
from vmha.versioned_notifications import Phase

_UNREACHABLE = (sdk_errors.SDKException, keystone_errors.ConnectionError)


def accept(services: Services, notification: Notification) -> NotificationRecord:
    """Admit ``notification`` and return its journal record; ApiError for a refusal (see the module docstring)."""
    try:
        judged = judge(notification, services.cloud, services.journal, services.settings)
    except _UNREACHABLE as error:
        raise ApiError(503, f"cannot ask Nova about host {notification.hostname}: {error}") from error
    if isinstance(judged, Refused) and judged.rule is not Rule.DISABLED_SEGMENT:
        raise refusal(judged, notification)
    enqueue(services, notification)
    decision = record(notification, judged, services.journal, services.settings)
    if isinstance(decision, Admitted):
        announce(services, decision.record)
        return decision.record
    if decision.rule is not Rule.DISABLED_SEGMENT or decision.record is None:
        raise refusal(decision, notification)  # e.g. a duplicate that raced past judge: the journal stored it ignored
    announce(services, decision.record)
    return decision.record


def announce(services: Services, record: NotificationRecord) -> None:
    """Masakari's ``notification.create.start`` and ``.end`` of an accepted notification (sent once it is stored:
    a refused request announces nothing, as Masakari's API checks before it starts)."""
    services.events.notification("create", Phase.START, record)
    services.events.notification("create", Phase.END, record)


def refusal(refused: Refused, notification: Notification) -> ApiError:
    """The error Masakari's API answers for what ``refused`` says."""
    host, kind = notification.hostname, notification.type.value
    match refused.rule:
        case Rule.UNKNOWN_HOST:
            return ApiError(400, f"Host with name {host} could not be found.")
        case Rule.INVALID_SEGMENT:
            return ApiError(400, refused.reason)
        case Rule.MAINTENANCE:
            return ApiError(409, f"Notification received from host {host} of type '{kind}' is ignored as the host "
                                 f"is already under maintenance ({refused.reason}).")
        case Rule.DUPLICATE:
            return ApiError(409, f"Notification received from host {host} of type {kind} is a {refused.reason}.")
    return ApiError(409, f"Notification {notification.id}: {refused.reason}.")


def enqueue(services: Services, notification: Notification) -> None:
    """Post ``notification`` (validated by ``to_dict``) for the consumers' intake."""
    settings = services.settings
    services.queues.post(settings.queues.notifications, [notification.to_dict()],
                         ttl=settings.monitor.sink.message_ttl_seconds)
