"""Masakari's segments and hosts, read-only, from Nova host aggregates with ``vmha:`` metadata.

A segment's id is its aggregate's uuid. A host's id is derived from its name (``host_uuid``), so it is the
same on every gateway replica and in notifications' ``source_host_uuid``; its ``reserved`` and
``on_maintenance`` flags come from the segment's keys and, for maintenance, from a nova-compute service that
vmha disabled in an earlier recovery. Creating or changing segments is Heat's job (``vmha deploy``), so
the write verbs are not offered (405).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import webob

from vmha.api import versions
from vmha.api.web import ApiError, reply
from vmha.functions.nova import COMPUTE_BINARY
from vmha.functions.segments import PREFIX, Segment, SegmentError, disabled_by_vmha, parse_segment

_HOSTS = uuid.UUID("5c0f2f7e-2d0b-5b8e-9a1d-6c4d3e2b1a90")


def host_uuid(name: str) -> str:
    """The stable id of the host called ``name``."""
    return str(uuid.uuid5(_HOSTS, name))


@dataclass(frozen=True)
class Found:
    """A segment with its aggregate's uuid and timestamps."""

    id: str
    segment: Segment
    created_at: str | None
    updated_at: str | None


def found_segments(cloud: Any) -> list[Found]:
    """Every vmha segment; a segment whose keys are invalid is left out (intake reports it)."""
    found = []
    for aggregate in cloud.compute.aggregates():
        metadata = aggregate.metadata or {}
        if not any(key.startswith(PREFIX) for key in metadata):
            continue
        try:
            segment = parse_segment(aggregate.name, tuple(aggregate.hosts or ()), metadata)
        except SegmentError:
            continue
        found.append(Found(str(aggregate.uuid), segment, aggregate.created_at, aggregate.updated_at))
    return found


def segment_view(found: Found, version: versions.Version) -> dict[str, Any]:
    view = {"id": found.id, "uuid": found.id, "name": found.segment.name, "description": None,
            "service_type": "COMPUTE", "recovery_method": found.segment.recovery_method.value,
            "created_at": found.created_at, "updated_at": found.updated_at, "deleted": False, "deleted_at": None}
    if version >= (1, 2):
        view["enabled"] = found.segment.enabled
    return view


class Segments:
    """``/v1/segments`` and ``/v1/segments/{id}/hosts``."""

    def __init__(self, cloud: Any) -> None:
        self._cloud = cloud

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        version = versions.of(request)
        listed = [segment_view(found, version) for found in found_segments(self._cloud)]
        wanted = {key: request.GET[key] for key in ("recovery_method", "service_type") if key in request.GET}
        listed = [view for view in listed if all(view[key] == value for key, value in wanted.items())]
        return reply(200, {"segments": listed})

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        return reply(200, {"segment": segment_view(self._find(params["segment_id"]), versions.of(request))})

    def hosts(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        found = self._find(params["segment_id"])
        return reply(200, {"hosts": self._host_views(found, versions.of(request))})

    def host(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        found = self._find(params["segment_id"])
        for view in self._host_views(found, versions.of(request)):
            if params["host_id"] in (view["id"], view["name"]):
                return reply(200, {"host": view})
        raise ApiError(404, f"Host {params['host_id']} could not be found.")

    def _find(self, segment_id: str) -> Found:
        for found in found_segments(self._cloud):
            if segment_id in (found.id, found.segment.name):
                return found
        raise ApiError(404, f"Failover segment {segment_id} could not be found.")

    def _host_views(self, found: Found, version: versions.Version) -> list[dict[str, Any]]:
        segment = found.segment
        disabled = {service.host for service in self._cloud.compute.services(binary=COMPUTE_BINARY)
                    if disabled_by_vmha(service)}
        return [{"id": host_uuid(name), "uuid": host_uuid(name), "name": name, "type": "COMPUTE",
                 "control_attributes": "", "reserved": name in segment.reserved_hosts,
                 "on_maintenance": name in segment.maintenance_hosts or name in disabled,
                 "failover_segment_id": found.id, "failover_segment": segment_view(found, version),
                 "created_at": found.created_at, "updated_at": found.updated_at, "deleted": False,
                 "deleted_at": None} for name in segment.members]
