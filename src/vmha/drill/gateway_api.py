"""The gateway's API as the drill uses it: found in the Keystone catalog (``vmha.osc.client``), every refusal
or unreachable gateway a ``DrillError`` with its one-line reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from osc_lib.exceptions import CommandError

from vmha.cloud.segments import host_uuid
from vmha.contracts.validation import format_timestamp
from vmha.drill.checks import DrillError
from vmha.osc.client import VmhaClient

UNDER_WAY = "new,running,error"
"""Notification statuses of a recovery not yet ended (error: retried by the gateway)."""


class GatewayApi:
    """GET and POST on the gateway's ``/v1`` routes."""

    def __init__(self, conn: Any) -> None:
        self._client = VmhaClient(conn)

    def call(self, method: str, path: str) -> Any:
        try:
            return self._client.request(method, path)
        except CommandError as error:
            raise DrillError(str(error)) from error

    def recoveries_under_way(self) -> list[dict[str, Any]]:
        """The notifications whose recovery has not ended."""
        found: list[dict[str, Any]] = self.call("GET", f"notifications?status={UNDER_WAY}")["notifications"]
        return found

    def host_failures(self, host: str, since: datetime) -> list[dict[str, Any]]:
        """The COMPUTE_HOST notifications about ``host`` generated since ``since``."""
        query = urlencode({"source_host_uuid": host_uuid(host), "type": "COMPUTE_HOST",
                           "generated-since": format_timestamp(since)})
        found: list[dict[str, Any]] = self.call("GET", f"notifications?{query}")["notifications"]
        return found

    def notification(self, notification_id: str) -> dict[str, Any]:
        """The notification with its recovery's progress (``recovery_workflow_details``)."""
        found: dict[str, Any] = self.call("GET", f"notifications/{quote(notification_id, safe='')}")["notification"]
        return found

    def timeline(self, segment: str, since: datetime, notification_id: str) -> dict[str, Any] | None:
        """The RTO report's timeline of the recovery ``notification_id`` (None until it ended)."""
        query = urlencode({"segment": segment, "since": format_timestamp(since)})
        for report in self.call("GET", f"report?{query}")["report"]:
            for line in report["timelines"]:
                if line["notification_id"] == notification_id:
                    found: dict[str, Any] = line
                    return found
        return None

    def return_host(self, host: str) -> dict[str, Any]:
        """Return the host to service (``POST /v1/hosts/{name}/return``)."""
        done: dict[str, Any] = self.call("POST", f"hosts/{quote(host, safe='')}/return")["return"]
        return done
