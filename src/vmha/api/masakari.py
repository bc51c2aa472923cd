"""Masakari's notifications API: ``POST/GET /v1/notifications``, ``GET /v1/notifications/{id}[/vmoves]``.

A POSTed notification is checked as Masakari checks it (the envelope, then vmha's notification contract:
``generated_time`` with a 'T' or a space, Masakari's upper-case event values), then: a host in no segment
is 400, a host in maintenance 409, the same type, host and payload within ``dedup_window_seconds`` 409.
An accepted notification gets a new id, is posted to the notifications queue (the durable path the
consumers' intake takes, which does the rest) and recorded in the journal with its segment; the answer is
202 with the record. Rejected requests leave nothing behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import webob

from vmha.api import versions
from vmha.api.notify import enqueue
from vmha.api.progress import notification_view, vmove_view, workflow_details
from vmha.api.web import ApiError, read_object, reply
from vmha.contracts import ContractError, Notification, parse_notification
from vmha.contracts.validation import parse_timestamp
from vmha.functions.nova import compute_service
from vmha.functions.segments import Segment, SegmentError, disabling_notification, segment_of
from vmha.journal import (
    NewNotification,
    NotificationFilter,
    NotificationStatus,
    RecordOutcome,
    UnknownNotificationError,
)
from vmha.journal.journal import MAX_PAGE
from vmha.runtime import Services

FIELDS = ("type", "hostname", "generated_time", "payload")


class Notifications:
    """The notification routes."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def create(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        fields = envelope(read_object(request, self._services.settings.api.max_body_bytes))
        project = request.environ.get("HTTP_X_PROJECT_ID") or "unknown"
        try:
            notification = parse_notification({"id": str(uuid.uuid4()), "source": f"masakari-api/{project}", **fields})
        except ContractError as error:
            raise ApiError(400, f"Invalid input for field/attribute {error.path or 'notification'}: "
                                f"{error.message}") from error
        segment = self._admit(notification)
        enqueue(self._services, notification)
        recorded = self._services.journal.record_notification(
            new_notification(notification, segment),
            dedup_window=timedelta(seconds=self._services.settings.dedup_window_seconds),
            terminal_within=self._services.ceiling)
        if recorded.outcome is RecordOutcome.DUPLICATE:
            raise ApiError(409, f"Notification {notification.id} is a duplicate of {recorded.duplicate_of}.")
        return reply(202, {"notification": notification_view(recorded.notification)})

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        query = request.GET
        try:
            limit = min(int(query.get("limit", MAX_PAGE)), MAX_PAGE)
            filters = NotificationFilter(
                statuses=frozenset(NotificationStatus(s) for value in query.getall("status") for s in value.split(",")),
                type=query.get("type"),
                generated_since=parse_timestamp(query["generated-since"], "generated-since")
                if "generated-since" in query else None)
            records = self._services.journal.list_notifications(filters, limit=max(limit, 1),
                                                                marker=query.get("marker"))
        except (ValueError, UnknownNotificationError) as error:
            raise ApiError(400, f"Invalid query: {error}") from error
        views = [notification_view(record) for record in records]
        host = query.get("source_host_uuid")
        return reply(200, {"notifications": [view for view in views if host in (None, view["source_host_uuid"])]})

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        detail = self._services.journal.get_notification(params["notification_id"])
        if detail is None:
            raise ApiError(404, f"No notification with id {params['notification_id']}.")
        view = notification_view(detail.notification)
        if versions.of(request) >= (1, 1):
            view["recovery_workflow_details"] = workflow_details(detail)
        return reply(200, {"notification": view})

    def vmoves(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        if versions.of(request) < (1, 3):
            raise ApiError(404, "vmoves need microversion 1.3 or later")
        detail = self._services.journal.get_notification(params["notification_id"])
        if detail is None:
            raise ApiError(404, f"No notification with id {params['notification_id']}.")
        if detail.notification.type != "COMPUTE_HOST":
            raise ApiError(400, "vmoves exist for COMPUTE_HOST notifications only")
        return reply(200, {"vmoves": [vmove_view(instance) for instance in detail.instances]})

    def _admit(self, notification: Notification) -> Segment:
        """The host's segment; ApiError 400 (no segment), 409 (maintenance, duplicate)."""
        cloud, host = self._services.cloud, notification.hostname
        try:
            segment = segment_of(cloud, host)
        except SegmentError as error:
            raise ApiError(400, str(error)) from error
        if segment is None:
            raise ApiError(400, f"Host with name {host} could not be found.")
        service = compute_service(cloud, host)
        if host in segment.maintenance_hosts or (service is not None and disabling_notification(service)):
            raise ApiError(409, f"Notification received from host {host} of type '{notification.type.value}' is "
                                "ignored as the host is already under maintenance.")
        window = timedelta(seconds=self._services.settings.dedup_window_seconds)
        twin = self._services.journal.find_recent_duplicate(
            notification.type.value, host, notification.payload.to_dict(), window)
        if twin is not None:
            raise ApiError(409, f"Notification received from host {host} of type {notification.type.value} is "
                                f"a duplicate of notification {twin.id}.")
        return segment


def envelope(body: Mapping[str, Any]) -> dict[str, Any]:
    """The four fields of ``{"notification": {...}}``; ApiError 400 naming what is wrong."""
    if set(body) != {"notification"} or not isinstance(body["notification"], dict):
        raise ApiError(400, "Invalid input: the body must be {\"notification\": {type, hostname, generated_time, "
                            "payload}}.")
    fields: dict[str, Any] = body["notification"]
    missing = [name for name in FIELDS if name not in fields]
    if missing:
        raise ApiError(400, f"Invalid input for field/attribute notification: '{missing[0]}' is a required property")
    extra = sorted(set(fields) - set(FIELDS))
    if extra:
        raise ApiError(400, f"Invalid input for field/attribute notification: Additional properties are not "
                            f"allowed ('{extra[0]}' was unexpected)")
    return fields


def new_notification(notification: Notification, segment: Segment) -> NewNotification:
    """What the journal records of an accepted notification."""
    return NewNotification(
        id=str(notification.id), type=notification.type.value, hostname=notification.hostname,
        generated_time=notification.generated_time, payload=notification.payload.to_dict(),
        source=notification.source, segment=segment.name, recovery_method=segment.recovery_method.value)
