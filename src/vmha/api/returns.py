"""``POST /v1/hosts/{name}/return``: an operator returns a host vmha recovered to service (``vmha.returns``),
whatever its segment's ``vmha:return_to_service`` and flap window say, never while a recovery of it is under
way, its nova-compute has not reported since, or its BMC does not report the power on.

200 with the return's result when the host is back in service; 202 when the return is under way (Nova lifts
forced_down only once the restarted nova-compute completed its evacuation records, and the service is enabled
only after its next report: the gateway's periodic look finishes it). 404 for a host Nova does not know or in
no segment; 409 for a host vmha did not take out of service, or one that cannot go back yet (the reason says
why); 503 when Nova cannot be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webob

from vmha.api.cloud_reads import reading_cloud
from vmha.api.web import ApiError, reply
from vmha.contracts import Settings
from vmha.journal import Journal
from vmha.returns import ReturnRefusedError, return_host


class Returns:
    """The host return route."""

    def __init__(self, cloud: Any, settings: Settings, journal: Journal) -> None:
        self._cloud, self._settings, self._journal = cloud, settings, journal

    def create(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        host = params["name"]
        try:
            with reading_cloud("Nova"):
                look = return_host(self._settings, self._journal, self._cloud, host)
        except ReturnRefusedError as error:
            raise ApiError(error.status, str(error)) from error
        body = {"host": look.host, "notification_id": look.notification_id, "back_in_service": look.result is not None,
                "reason": look.reason, "result": dict(look.result) if look.result is not None else None}
        return reply(200 if look.result is not None else 202, {"return": body})
