"""``POST /v1/hosts/{name}/failback``: an operator moves back to a host the servers its last recovery
evacuated (``vmha.failback``), whatever its segment's ``vmha:failback`` says; ``DELETE`` cancels the failback
under way (no further migration starts, the running ones finish).

202 with the failback's notification (type ``VMHA_FAILBACK``) and its vmoves: the gateway's sweeper moves
the servers, shown by ``GET /v1/notifications/{id}`` and its vmoves. 404 for a host Nova does not know or in
no segment; 409 for a host not back in service, a recovery of the segment under way, a failback of the host
already under way (or, to cancel, none), or no recovery to undo; 503 when Nova or the coordination backend
cannot be reached. A refusal changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import webob

from vmha.api.cloud_reads import reading_cloud
from vmha.api.progress import notification_view, vmove_view
from vmha.api.web import ApiError, reply
from vmha.contracts import Settings
from vmha.failback import FailbackRefusedError, cancel_failback, start_failback
from vmha.journal import Journal, NotificationRecord


class Failbacks:
    """The host failback routes."""

    def __init__(self, cloud: Any, settings: Settings, journal: Journal) -> None:
        self._cloud, self._settings, self._journal = cloud, settings, journal

    def create(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        return self._answer(lambda: start_failback(self._settings, self._journal, self._cloud, params["name"],
                                                   by=_who(request)))

    def delete(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        return self._answer(lambda: cancel_failback(self._journal, self._cloud, params["name"], by=_who(request)))

    def _answer(self, act: Callable[[], NotificationRecord]) -> webob.Response:
        try:
            with reading_cloud("Nova"):
                record = act()
        except FailbackRefusedError as error:
            raise ApiError(error.status, str(error)) from error
        detail = self._journal.get_notification(record.id, with_events=False)
        vmoves = [vmove_view(item, "live_migration") for item in detail.instances] if detail else []
        return reply(202, {"failback": {**notification_view(record), "vmoves": vmoves}})


def _who(request: webob.Request) -> str:
    """The operator asking, as the audit trail names them."""
    return f"operator {request.environ.get('HTTP_X_USER_NAME') or request.environ.get('HTTP_X_USER_ID') or ''}".strip()
