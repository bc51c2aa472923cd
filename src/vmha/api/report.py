"""``GET /v1/report[?segment=NAME&since=TIME]``: the ended host recoveries per segment, each with its phase
timeline and whether it met the segment's ``vmha:rto_seconds`` (``vmha.rto``), newest first.

400 for a ``since`` that is not an ISO 8601 time; a segment that no longer exists still has its recoveries
reported (without an objective); a Nova that cannot be read is a 503.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webob

from vmha.api.cloud_reads import reading_cloud
from vmha.api.web import ApiError, reply
from vmha.cloud.segments import segments
from vmha.contracts import ContractError
from vmha.contracts.validation import format_timestamp, parse_timestamp
from vmha.journal import Journal
from vmha.rto import PHASES, SegmentReport, segment_reports
from vmha.rto.reading import host_recoveries


def report_view(report: SegmentReport) -> dict[str, Any]:
    """The JSON form of one segment's report."""
    objective = report.objective_seconds
    return {"segment": report.segment, "objective_seconds": objective, "recoveries": len(report.recoveries),
            "met": report.met, "median_seconds": {phase: report.median(phase) for phase in PHASES},
            "timelines": [{"notification_id": line.notification_id, "host": line.host,
                           "failed_at": format_timestamp(line.failed_at), "servers": line.servers,
                           "phases": line.phases, "met": None if objective is None else line.meets(objective)}
                          for line in report.recoveries]}


class Reports:
    """The report route."""

    def __init__(self, cloud: Any, journal: Journal) -> None:
        self._cloud = cloud
        self._journal = journal

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        name = request.GET.get("segment")
        try:
            since = parse_timestamp(request.GET["since"], "since") if "since" in request.GET else None
        except ContractError as error:
            raise ApiError(400, f"Invalid query: {error}") from error
        with reading_cloud("Nova"):
            objectives = {segment.name: segment.rto_seconds for segment in segments(self._cloud)}
        found = host_recoveries(self._journal, segment=name, since=since)
        reports = segment_reports(found, objectives)
        return reply(200, {"report": [report_view(report) for report in reports]})
