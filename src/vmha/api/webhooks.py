"""The webhooks: Zaqar subscription pushes wake the consumers, Aodh alarm actions become VM notifications.

A call authenticates with a Keystone token (Aodh's ``trust+http(s)`` actions and Zaqar's ``trust+http(s)``
subscribers get one through the trust each makes from the alarm's or subscription's creator; the app has
keystonemiddleware check it and decides under ``vmha:webhooks:*:token``), or with a signed URL: ``expires``
(Unix time) and ``signature`` (``vmha.signing``: the HMAC-SHA256 of ``<path>\\n<expires>`` with
``settings.api.webhook_secret``; ``vmha.api.signed_url`` mints one). A call with neither is answered 401, a
wrong or expired signature 403, and nothing is journaled or posted.

A Zaqar push carries a message body but no message id, and the message stays in its queue: the push only
makes the consumers claim at once. An Aodh alarm on a Nova instance event (``reason_data.event`` with the
``instance_id`` trait, e.g. ``compute.instance.power_off.end`` or ``compute.instance.update`` with state
error) becomes a VM notification (LIFECYCLE / STOPPED_FAILED: the guest stopped without being asked to)
on the host Nova has the server on (the event's ``host`` trait names the machine of whichever Nova service
sent it: the API's for a reset to error), admitted as the Masakari API admits one (``vmha.api.notify.accept``:
a host in no segment 400, in maintenance 409) and posted to the notifications queue, so the alarm path is as
durable as a monitor's. Its id is derived from the alarm and event ids, so a repeated delivery of one
event is recovered once (and answered 409). Only a server of the alarm's own project (Aodh is asked whose
alarm it is) is restarted: another project's is refused with 403 and the reason.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import keystoneauth1.exceptions
import openstack
import webob

from vmha.api.audit import TARGET_KEY
from vmha.api.notify import accept
from vmha.api.web import ApiError, read_object, reply
from vmha.contracts import ContractError, Notification, parse_notification
from vmha.runtime import Services
from vmha.signing import AODH_PATH, ZAQAR_PATH, signature, signed_url

__all__ = ["AODH_PATH", "ZAQAR_PATH", "Webhooks", "alarm_notification", "signed_url", "verify"]

_NAMESPACE = uuid.UUID("0b3d7c55-6a4f-5e0c-9f36-0c1e8a6d2f10")


def verify(request: webob.Request, secret: str, now: float) -> None:
    """ApiError 401 for an unsigned call, 403 for a wrong or expired signature or when webhooks are off."""
    if not secret:
        raise ApiError(403, "webhooks are disabled: the gateway has no api.webhook_secret")
    given, expires = request.GET.get("signature"), request.GET.get("expires")
    if not given or not expires:
        raise ApiError(401, "this webhook needs a Keystone token (X-Auth-Token) or a signed URL (expires and "
                            "signature query parameters)")
    if not expires.isdigit() or int(expires) < now:
        raise ApiError(403, f"the webhook URL expired (expires={expires})")
    if not hmac.compare_digest(signature(secret, request.path_info, int(expires)), given):
        raise ApiError(403, "wrong webhook signature")


class Webhooks:
    """The two webhook routes."""

    def __init__(self, services: Services, wake: Callable[[], None]) -> None:
        self._services = services
        self._wake = wake
        self._limit = services.settings.api.max_body_bytes

    def zaqar(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        read_object(request, self._limit)
        self._wake()
        return reply(202, {"woken": True})

    def aodh(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        alarm = read_object(request, self._limit)
        if alarm.get("current") != "alarm":
            return reply(200, {"ignored": f"alarm state {alarm.get('current')!r} is not 'alarm'"})
        request.environ[TARGET_KEY] = f"alarm:{str(alarm.get('alarm_id'))[:80]}"
        notification = alarm_notification(alarm, lambda instance: self._host_of(instance, alarm.get("alarm_id")))
        recorded = accept(self._services, notification)
        self._wake()
        return reply(202, {"notification_id": recorded.id, "status": recorded.status.value})

    def _alarm_project(self, alarm_id: Any) -> str:
        """The project of the Aodh alarm ``alarm_id``, as Aodh says: a signed URL proves the call came from a
        wired alarm, not whose servers it may restart. ApiError 403 for an alarm Aodh does not have."""
        if not _is_uuid(alarm_id):
            raise ApiError(400, f"the alarm body's alarm_id is not an alarm id: {str(alarm_id)[:80]!r}")
        try:
            answer = self._services.cloud.session.get(f"/v2/alarms/{alarm_id}", raise_exc=False,
                                                      endpoint_filter={"service_type": "alarming"})
        except keystoneauth1.exceptions.ClientException as error:
            raise ApiError(503, f"cannot ask Aodh whose alarm {alarm_id} is: {error}") from error
        if answer.status_code == 404:
            raise ApiError(403, f"Aodh has no alarm {alarm_id}: nothing is restarted for it")
        if answer.status_code != 200:
            raise ApiError(503, f"Aodh answered {answer.status_code} when asked for alarm {alarm_id}")
        return str(answer.json()["project_id"])

    def _host_of(self, instance: str, alarm_id: Any) -> str | None:
        """The compute host Nova has ``instance`` on; None for a server Nova does not know; ApiError 403 for a
        server outside the project of the alarm ``alarm_id``."""
        try:
            server = self._services.cloud.compute.get_server(instance)
        except openstack.exceptions.NotFoundException:
            return None
        except openstack.exceptions.SDKException as error:
            raise ApiError(503, f"cannot ask Nova where instance {instance} runs: {error}") from error
        owner = self._alarm_project(alarm_id)
        if server.project_id != owner:
            raise ApiError(403, f"server {instance} is not in the alarm's project {owner}: not restarted")
        return str(server.compute_host) if server.compute_host else None


def alarm_notification(alarm: Mapping[str, Any], host_of: Callable[[str], str | None]) -> Notification:
    """The VM notification an Aodh instance-event alarm body stands for; ApiError 400 if it is none.
    ``host_of`` finds an instance's compute host (None: no such server)."""
    data = alarm.get("reason_data")
    event = data.get("event") if isinstance(data, dict) and data.get("type") == "event" else None
    if not isinstance(event, dict):
        raise ApiError(400, "not an Aodh event alarm body: reason_data.event is missing")
    traits = _traits(event.get("traits"))
    instance = traits.get("instance_id") or traits.get("resource_id")
    if not instance:
        raise ApiError(400, "the alarm's event has no instance_id trait: not a Nova instance event")
    if not _is_uuid(instance):
        raise ApiError(400, f"the alarm's instance_id trait is not a server id: {str(instance)[:80]!r}")
    host = host_of(instance)
    if not host:
        raise ApiError(400, f"Nova has no server {instance} on a compute host: nothing to recover")
    alarm_id, message_id = alarm.get("alarm_id"), event.get("message_id")
    if not alarm_id or not message_id:
        raise ApiError(400, "the alarm body has no alarm_id or its event no message_id")
    key = f"{alarm_id}/{message_id}"
    document = {
        "id": str(uuid.uuid5(_NAMESPACE, key)), "source": f"aodh/{alarm_id}", "type": "VM",
        "hostname": host, "generated_time": event.get("generated") or _now(),
        "payload": {"event": "LIFECYCLE", "vir_domain_event": "STOPPED_FAILED", "instance_uuid": instance},
    }
    try:
        return parse_notification(document)
    except ContractError as error:
        raise ApiError(400, f"the alarm does not make a valid notification: {error}") from error


def _traits(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, list):
        return {}
    return {item[0]: item[2] for item in raw if isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)}


def _is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(uuid.UUID(value))
    except ValueError:
        return False


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
