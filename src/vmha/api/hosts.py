"""Masakari's ``/v1/segments/{id}/hosts[/{id}]``: a segment's hosts, the members of its aggregate.

A host's id is derived from its name (``segments.host_uuid``): the same on every gateway replica and in
notifications' ``source_host_uuid``; renaming a host gives it the id of its new name. ``reserved`` and
``on_maintenance`` are its place in the segment's ``vmha:reserved_hosts`` and ``vmha:maintenance_hosts``; a
host whose nova-compute service vmha disabled in a recovery is on maintenance too, until an operator sets
``on_maintenance`` false (vmha then drops its mark from the service's disabled reason; the service stays
disabled, as Masakari leaves it, for the operator to enable) or enables the service.

As Masakari: create 201, update 200, delete 204; 400 when no nova-compute service has the host's name, 404
for an unknown segment or a host not in it, 409 for a host already in a segment, and (update, delete) while
the segment is under recovery. Heat's segments are refused (409), as in ``segments``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import openstack
import webob

from vmha.api import versions
from vmha.api.bodies import HostFields, host_fields
from vmha.api.inventory import (
    MAINTENANCE,
    RESERVED,
    Found,
    Metadata,
    add_host,
    change_host,
    control_key,
    found_segments,
    listed,
    remove_host,
    type_key,
)
from vmha.api.listing import arrange, flag, listing, query_filters
from vmha.api.segments import Inventory, nova_error, segment_view
from vmha.api.web import ApiError, read_object, reply
from vmha.cloud.nova import COMPUTE_BINARY, compute_service
from vmha.cloud.segments import disabled_by_vmha, host_uuid, released_reason

SORTABLE = frozenset({"id", "uuid", "name", "type", "control_attributes", "reserved", "on_maintenance",
                      "created_at", "updated_at"})


class Hosts:
    """The host routes of a segment."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        query = request.GET
        chosen = listing(query, SORTABLE)
        wanted: dict[str, object] = dict(query_filters(query, ("type",)))
        for name in ("reserved", "on_maintenance"):
            value = flag(query, name)
            if value is not None:
                wanted[name] = value
        found = self._inventory.find(params["segment_id"])
        everything = self._views(found, versions.of(request))
        views = [view for view in everything if all(view[key] == value for key, value in wanted.items())]
        return reply(200, {"hosts": arrange(views, chosen, everything)})

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        found = self._inventory.find(params["segment_id"])
        return reply(200, {"host": self._view(found, params["host_id"], versions.of(request))})

    def create(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        fields = host_fields(self._body(request), creating=True)
        inventory, name = self._inventory, fields["name"]
        with inventory.lock:
            found = inventory.find(params["segment_id"])
            inventory.writable(found, under_recovery_matters=False)
            self._check_new_name(name)
            try:
                add_host(inventory.cloud, found, name, _metadata(found, name, name, fields))
            except openstack.exceptions.HttpException as error:
                raise nova_error(error) from error
            found = inventory.find(found.id)
        return reply(201, {"host": self._view(found, name, versions.of(request))})

    def update(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        fields = host_fields(self._body(request), creating=False)
        inventory = self._inventory
        with inventory.lock:
            found = inventory.find(params["segment_id"])
            old = self._member(found, params["host_id"])
            inventory.writable(found)
            new = fields.get("name", old)
            if new != old:
                self._check_new_name(new)
            released = fields.get("on_maintenance") is False
            try:
                change_host(inventory.cloud, found, old, new, _metadata(found, old, new, fields),
                            then=lambda: self._release(new) if released else None)
            except openstack.exceptions.HttpException as error:
                raise nova_error(error) from error
            found = inventory.find(found.id)
        return reply(200, {"host": self._view(found, new, versions.of(request))})

    def delete(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        inventory = self._inventory
        with inventory.lock:
            found = inventory.find(params["segment_id"])
            host = self._member(found, params["host_id"])
            inventory.writable(found)
            metadata = {type_key(host): None, control_key(host): None,
                        RESERVED: listed(found.segment.reserved_hosts, host, False),
                        MAINTENANCE: listed(found.segment.maintenance_hosts, host, False)}
            try:
                remove_host(inventory.cloud, found, host, metadata)
            except openstack.exceptions.HttpException as error:
                raise nova_error(error) from error
        return reply(204)

    def _body(self, request: webob.Request) -> dict[str, Any]:
        return read_object(request, self._inventory.max_body_bytes)

    def _check_new_name(self, name: str) -> None:
        """ApiError 400 unless Nova has a nova-compute service on ``name``, 409 if a segment has it."""
        cloud = self._inventory.cloud
        if compute_service(cloud, name) is None:
            raise ApiError(400, f"Compute service with name {name} could not be found.")
        for other in found_segments(cloud):
            if name in other.segment.members:
                raise ApiError(409, f"Host with name {name} already exists (in failover segment "
                                    f"{other.segment.name}).")

    def _release(self, host: str) -> None:
        """Drop vmha's mark from the host's disabled nova-compute service: no longer on maintenance."""
        cloud = self._inventory.cloud
        service = compute_service(cloud, host)
        if service is not None and disabled_by_vmha(service):  # by id: openstacksdk sends only changed fields of
            # a service object, and Nova wants the status beside a new disabled reason
            cloud.compute.update_service(service.id, status="disabled",
                                         disabled_reason=released_reason(service.disabled_reason))

    @staticmethod
    def _member(found: Found, host_id: str) -> str:
        for name in found.segment.members:
            if host_id in (name, host_uuid(name)):
                return name
        raise ApiError(404, f"Host '{host_id}' under failover_segment '{found.id}' could not be found.")

    def _view(self, found: Found, host_id: str, version: versions.Version) -> dict[str, Any]:
        name = self._member(found, host_id)
        return next(view for view in self._views(found, version) if view["name"] == name)

    def _views(self, found: Found, version: versions.Version) -> list[dict[str, Any]]:
        segment = found.segment
        disabled = {service.host for service in self._inventory.cloud.compute.services(binary=COMPUTE_BINARY)
                    if disabled_by_vmha(service)}
        return [{"id": host_uuid(name), "uuid": host_uuid(name), "name": name, "type": found.host_type(name),
                 "control_attributes": found.control_attributes(name), "reserved": name in segment.reserved_hosts,
                 "on_maintenance": name in segment.maintenance_hosts or name in disabled,
                 "failover_segment_id": found.id, "failover_segment": segment_view(found, version),
                 "created_at": found.created_at, "updated_at": found.updated_at, "deleted": False,
                 "deleted_at": None} for name in segment.members]


def _metadata(found: Found, old: str, new: str, fields: HostFields) -> Metadata:
    """The aggregate metadata that records host ``old`` as ``new`` with ``fields`` (keys of ``old`` moved)."""
    segment = found.segment
    reserved = fields.get("reserved", old in segment.reserved_hosts)
    maintenance = fields.get("on_maintenance", old in segment.maintenance_hosts)
    metadata: Metadata = {
        RESERVED: listed(segment.reserved_hosts, old, reserved, new),
        MAINTENANCE: listed(segment.maintenance_hosts, old, maintenance, new),
        type_key(new): (fields["type"] or "") if "type" in fields else found.metadata.get(type_key(old)),
        control_key(new): (fields["control_attributes"] or "") if "control_attributes" in fields
        else found.metadata.get(control_key(old)),
    }
    if new != old:
        metadata.update({type_key(old): None, control_key(old): None})
    return metadata
