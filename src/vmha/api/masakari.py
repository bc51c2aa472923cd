"""Masakari's notifications API: ``POST/GET /v1/notifications``, ``GET /v1/notifications/{id}``.

A POSTed notification is checked as Masakari checks it (the envelope, then vmha's notification contract:
``generated_time`` with a 'T' or a space, Masakari's upper-case event values), gets a new id, and goes through
admission (``vmha.api.notify.accept``: a host in no segment 400, a host in maintenance or a duplicate 409,
rejected requests leave nothing behind); the answer is 202 with the journal's record.

The list takes Masakari's filters (``status``, comma-separated or repeated; ``type``; ``source_host_uuid``;
``generated-since``), applied by the journal before paging, and Masakari's paging and sorting
(``vmha.api.listing``): newest first is the journal's own order and page; any other order sorts every match.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import webob

from vmha.api import versions
from vmha.api.bodies import invalid_input
from vmha.api.inventory import found_segments
from vmha.api.listing import Listing, View, arrange, listing
from vmha.api.notify import accept
from vmha.api.progress import notification_view, workflow_details
from vmha.api.web import ApiError, read_object, reply
from vmha.cloud.nova import COMPUTE_BINARY
from vmha.cloud.segments import host_uuid
from vmha.contracts import ContractError, parse_notification
from vmha.contracts.validation import parse_timestamp
from vmha.journal import Journal, NotificationFilter, NotificationRecord, NotificationStatus, UnknownNotificationError
from vmha.journal.journal import MAX_PAGE
from vmha.runtime import Services

FIELDS = ("type", "hostname", "generated_time", "payload")
SORTABLE = frozenset({"id", "notification_uuid", "type", "status", "generated_time", "source_host_uuid",
                      "created_at", "updated_at"})


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
            raise invalid_input(error, "notification") from error
        return reply(202, {"notification": notification_view(accept(self._services, notification))})

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        query = request.GET
        chosen = listing(query, SORTABLE)
        try:
            filters = NotificationFilter(
                statuses=frozenset(NotificationStatus(s) for value in query.getall("status") for s in value.split(",")),
                type=query.get("type"), hostname=self._hostname(query.get("source_host_uuid")),
                generated_since=parse_timestamp(query["generated-since"], "generated-since")
                if "generated-since" in query else None)
        except ValueError as error:
            raise ApiError(400, f"Invalid query: {error}") from error
        if chosen.limit == 0 or filters.hostname == "":
            return reply(200, {"notifications": []})
        return reply(200, {"notifications": self._page(filters, chosen)})

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        detail = self._services.journal.get_notification(params["notification_id"])
        if detail is None:
            raise ApiError(404, f"No notification with id {params['notification_id']}.")
        view = notification_view(detail.notification)
        if versions.of(request) >= (1, 1):
            view["recovery_workflow_details"] = workflow_details(detail)
        return reply(200, {"notification": view})

    def _page(self, filters: NotificationFilter, chosen: Listing) -> list[View]:
        """One page: the journal's own when newest first, otherwise every match sorted here."""
        journal = self._services.journal
        if chosen.default_order:
            try:
                records = journal.list_notifications(filters, limit=chosen.limit, marker=chosen.marker)
            except UnknownNotificationError as error:
                raise ApiError(400, f"Marker {chosen.marker} could not be found.") from error
            return [notification_view(record) for record in records]
        views = [notification_view(record) for record in every_notification(journal, filters)]
        marker = journal.get_notification_record(chosen.marker) if chosen.marker else None
        return arrange(views, chosen, views + ([notification_view(marker)] if marker else []))

    def _hostname(self, host_id: str | None) -> str | None:
        """The host whose id is ``host_id`` among the segments' and Nova's compute hosts ("" if none is)."""
        if host_id is None:
            return None
        cloud = self._services.cloud
        names = {name for found in found_segments(cloud) for name in found.segment.members}
        names |= {service.host for service in cloud.compute.services(binary=COMPUTE_BINARY)}
        return next((name for name in names if host_uuid(name) == host_id), "")


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


def every_notification(journal: Journal, filters: NotificationFilter) -> list[NotificationRecord]:
    """Every notification that ``filters`` match, read page by page."""
    records: list[NotificationRecord] = []
    while True:
        page = journal.list_notifications(filters, limit=MAX_PAGE, marker=records[-1].id if records else None)
        records.extend(page)
        if len(page) < MAX_PAGE:
            return records
