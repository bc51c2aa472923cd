"""Masakari's ``/v1/segments[/{id}]``: failover segments on Nova host aggregates (``vmha.api.inventory``).

A segment's id is its aggregate's uuid; a segment is found by id or name. Writes follow Masakari: create
201 (409 when an aggregate already has the name), update 200, delete 204 (its hosts leave the aggregate,
which is deleted); 404 for an unknown segment; 409 while the segment is under recovery (a notification of
one of its hosts is new, running or in error) and for a segment a Heat stack made (``vmha:stack``): the
stack owns it, a change goes through the stack. Writes are serialised within the gateway process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import openstack
import webob

from vmha.api import versions
from vmha.api.bodies import SegmentFields, segment_fields
from vmha.api.inventory import (
    DESCRIPTION,
    SERVICE_TYPE,
    Found,
    Metadata,
    create_segment,
    delete_segment,
    found_segments,
    update_segment,
)
from vmha.api.listing import arrange, flag, listing, query_filters
from vmha.api.web import ApiError, read_object, reply
from vmha.cloud.segments import PREFIX
from vmha.journal import Journal, NotificationFilter, NotificationStatus
from vmha.journal.journal import MAX_PAGE

UNDER_RECOVERY = frozenset({NotificationStatus.NEW, NotificationStatus.RUNNING, NotificationStatus.ERROR})
SORTABLE = frozenset({"id", "uuid", "name", "description", "service_type", "recovery_method", "enabled",
                      "created_at", "updated_at"})


def segment_view(found: Found, version: versions.Version) -> dict[str, Any]:
    view = {"id": found.id, "uuid": found.id, "name": found.segment.name, "description": found.description,
            "service_type": found.service_type, "recovery_method": found.segment.recovery_method.value,
            "created_at": found.created_at, "updated_at": found.updated_at, "deleted": False, "deleted_at": None}
    if version >= (1, 2):
        view["enabled"] = found.segment.enabled
    return view


@dataclass(frozen=True)
class Inventory:
    """What the segment and host routes share: the cloud, the journal, one lock for writes, and the checks."""

    cloud: Any
    journal: Journal
    max_body_bytes: int
    lock: threading.Lock = field(default_factory=threading.Lock)

    def find(self, segment_id: str) -> Found:
        """The segment by id or name; ApiError 404."""
        for found in found_segments(self.cloud):
            if segment_id in (found.id, found.segment.name):
                return found
        raise ApiError(404, f"No failover segment with id {segment_id}.")

    def writable(self, found: Found, under_recovery_matters: bool = True) -> None:
        """ApiError 409 when a Heat stack owns the segment or it is under recovery."""
        if found.segment.stack:
            raise ApiError(409, f"Failover segment {found.segment.name} belongs to Heat stack "
                                f"{found.segment.stack}: change it through the stack (vmha deploy).")
        if under_recovery_matters and self._under_recovery(found):
            raise ApiError(409, f"Failover segment {found.id} can't be changed as it is in use to process "
                                "notifications.")

    def _under_recovery(self, found: Found) -> bool:
        members = set(found.segment.members)
        active = self.journal.list_notifications(NotificationFilter(statuses=UNDER_RECOVERY), limit=MAX_PAGE)
        return any(record.segment == found.segment.name or record.hostname in members for record in active)


def nova_error(error: openstack.exceptions.HttpException) -> ApiError:
    """Nova refused a write that vmha's checks let through: 502 naming Nova's reason (nothing was changed)."""
    return ApiError(502, f"Nova refused the change ({error.status_code}: {error.details or error}); nothing "
                         "was changed.")


class Segments:
    """``/v1/segments`` and ``/v1/segments/{id}``."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        version, query = versions.of(request), request.GET
        chosen = listing(query, SORTABLE)
        everything = [segment_view(found, versions.MAX_VERSION) for found in found_segments(self._inventory.cloud)]
        wanted: dict[str, object] = dict(query_filters(query, ("recovery_method", "service_type")))
        enabled = flag(query, "enabled")
        if enabled is not None:
            wanted["enabled"] = enabled
        views = [view for view in everything if all(view[key] == value for key, value in wanted.items())]
        page = arrange(views, chosen, everything)
        if version < (1, 2):
            page = [{key: value for key, value in view.items() if key != "enabled"} for view in page]
        return reply(200, {"segments": page})

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        return reply(200, {"segment": segment_view(self._inventory.find(params["segment_id"]), versions.of(request))})

    def create(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        fields = segment_fields(self._body(request), versions.of(request), creating=True)
        inventory = self._inventory
        with inventory.lock:
            metadata = {PREFIX + "enabled": "true", **_metadata(fields)}
            try:
                aggregate = create_segment(inventory.cloud, fields["name"], metadata)
            except openstack.exceptions.ConflictException as error:
                raise ApiError(409, f"Failover segment with name {fields['name']} already exists.") from error
            except openstack.exceptions.HttpException as error:
                raise nova_error(error) from error
            found = inventory.find(str(aggregate.uuid))
        return reply(201, {"segment": segment_view(found, versions.of(request))})

    def update(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        fields = segment_fields(self._body(request), versions.of(request), creating=False)
        inventory = self._inventory
        with inventory.lock:
            found = inventory.find(params["segment_id"])
            inventory.writable(found)
            try:
                update_segment(inventory.cloud, found, fields.get("name"), _metadata(fields))
            except openstack.exceptions.ConflictException as error:
                raise ApiError(409, f"Failover segment with name {fields.get('name')} already exists.") from error
            except openstack.exceptions.HttpException as error:
                raise nova_error(error) from error
            found = inventory.find(found.id)
        return reply(200, {"segment": segment_view(found, versions.of(request))})

    def delete(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        inventory = self._inventory
        with inventory.lock:
            found = inventory.find(params["segment_id"])
            inventory.writable(found)
            try:
                delete_segment(inventory.cloud, found)
            except openstack.exceptions.HttpException as error:
                raise nova_error(error) from error
        return reply(204)

    def _body(self, request: webob.Request) -> dict[str, Any]:
        return read_object(request, self._inventory.max_body_bytes)


def _metadata(fields: SegmentFields) -> Metadata:
    """The aggregate metadata that records ``fields`` (the name is the aggregate's own)."""
    metadata: Metadata = {}
    if "recovery_method" in fields:
        metadata[PREFIX + "recovery_method"] = fields["recovery_method"]
    if "enabled" in fields:
        metadata[PREFIX + "enabled"] = "true" if fields["enabled"] else "false"
    if "service_type" in fields:
        metadata[SERVICE_TYPE] = fields["service_type"]
    if "description" in fields:
        metadata[DESCRIPTION] = fields["description"] or None
    return metadata
