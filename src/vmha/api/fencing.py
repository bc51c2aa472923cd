"""vmha's ``GET/PUT /v1/segments/{id}/fencing``: whether a segment's failed hosts must be fenced before their
servers are evacuated (``vmha:fencing``; Masakari's segments have no such field).

``{"fencing": "required" | "required_or_self_fence" | "disabled"}`` both ways. A change is refused as every
segment write is (``segments.Inventory.writable``): 404 for an unknown segment, 409 for a Heat stack's
segment or one under recovery; 400 for another value.
"""

from __future__ import annotations

from collections.abc import Mapping

import openstack
import webob

from vmha.api.inventory import update_segment
from vmha.api.segments import Inventory, nova_error
from vmha.api.web import ApiError, read_object, reply
from vmha.cloud.segments import PREFIX, Fencing

CHOICES = tuple(choice.value for choice in Fencing)


class SegmentFencing:
    """The fencing routes of a segment."""

    def __init__(self, inventory: Inventory) -> None:
        self._inventory = inventory

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        return reply(200, {"fencing": self._inventory.find(params["segment_id"]).segment.fencing.value})

    def update(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        body = read_object(request, self._inventory.max_body_bytes)
        if set(body) != {"fencing"} or body["fencing"] not in CHOICES:
            raise ApiError(400, f"Invalid input: the body must be {{\"fencing\": one of {', '.join(CHOICES)}}}.")
        inventory = self._inventory
        with inventory.lock:
            found = inventory.find(params["segment_id"])
            inventory.writable(found)
            try:
                update_segment(inventory.cloud, found, None, {PREFIX + "fencing": body["fencing"]})
            except openstack.exceptions.HttpException as error:
                raise nova_error(error) from error
            fencing = inventory.find(found.id).segment.fencing.value
        return reply(200, {"fencing": fencing})
