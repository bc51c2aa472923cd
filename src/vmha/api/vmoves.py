"""Masakari's ``GET /v1/notifications/{id}/vmoves[/{vmove_id}]`` (microversion 1.3): one vmove per server a
host recovery handled (type ``evacuation``), or a failback (``VMHA_FAILBACK``, ``vmha.failback``) moved back
(type ``live_migration``), from the journal's instance progress; a vmove's id is its server's uuid.

As Masakari: 404 below 1.3 and for an unknown notification or vmove, 400 for a notification that is neither;
the list takes the ``status`` and ``type`` filters and Masakari's paging and sorting.
"""

from __future__ import annotations

from collections.abc import Mapping

import webob

from vmha.api import versions
from vmha.api.listing import View, arrange, listing, query_filters
from vmha.api.progress import vmove_view
from vmha.api.web import ApiError, reply
from vmha.contracts import FailureType
from vmha.failback.records import TYPE as FAILBACK
from vmha.journal import Journal

SORTABLE = frozenset({"id", "uuid", "type", "status", "start_time", "end_time", "created_at", "updated_at",
                      "instance_uuid", "source_host", "dest_host"})
VMOVES_SINCE = (1, 3)
_KINDS = {FailureType.COMPUTE_HOST.value: "evacuation", FAILBACK: "live_migration"}


class VMoves:
    """The vmove routes of a notification."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        chosen = listing(request.GET, SORTABLE)
        everything = self._views(request, params["notification_id"])
        wanted = query_filters(request.GET, ("status", "type"))
        views = [view for view in everything if all(view[key] == value for key, value in wanted.items())]
        return reply(200, {"vmoves": arrange(views, chosen, everything)})

    def show(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        for view in self._views(request, params["notification_id"]):
            if view["uuid"] == params["vmove_id"]:
                return reply(200, {"vmove": view})
        raise ApiError(404, f"No vmove with id {params['vmove_id']}.")

    def _views(self, request: webob.Request, notification_id: str) -> list[View]:
        if versions.of(request) < VMOVES_SINCE:
            raise ApiError(404, "vmoves need microversion 1.3 or later")
        detail = self._journal.get_notification(notification_id, with_events=False)
        if detail is None:
            raise ApiError(404, f"No notification with id {notification_id}.")
        kind = _KINDS.get(detail.notification.type)
        if kind is None:
            raise ApiError(400, f"Notification {notification_id} is not of type COMPUTE_HOST: it has no vmoves.")
        return [vmove_view(instance, kind) for instance in detail.instances]
