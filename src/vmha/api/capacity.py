"""``GET /v1/capacity[?segment=NAME&failures=N]``: whether each segment absorbs the loss of its N hosts with
the most to move (``vmha.capacity``), read from Placement and Nova at request time; and
``GET /v1/hosts/{name}/failover-plan``: what the host's failure would do now (``vmha.capacity.plan``), 200
whether or not it would succeed (``succeeds``), 404 for a host Nova does not know, 409 for one in no segment.

400 for a ``failures`` that is not a whole number from 1 to ``MAX_FAILURES``; 404 for an unknown segment;
409 when a segment's metadata is invalid or a host is in two segments; a Placement or Nova answer that
cannot be read is a 503, never a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import webob

from vmha.api.cloud_reads import reading_cloud
from vmha.api.web import ApiError, reply
from vmha.capacity import Verdict
from vmha.capacity.plan import FailoverPlan, NoSegmentError, UnknownHostError, failover_plan
from vmha.capacity.reading import verdicts
from vmha.cloud.segments import segments
from vmha.contracts import Settings
from vmha.journal import Journal

MAX_FAILURES = 100


def verdict_view(verdict: Verdict) -> dict[str, Any]:
    """The JSON form of a verdict (the API's, the CLI's and the status view's)."""
    return {"segment": verdict.segment, "recovery_method": verdict.recovery_method.value,
            "failures": verdict.failures, "absorbs": verdict.absorbs, "lost_hosts": list(verdict.lost),
            "target_hosts": list(verdict.targets), "demand": verdict.demand, "free": verdict.free,
            "headroom": verdict.headroom, "unplaced_servers": list(verdict.unplaced)}


def plan_view(plan: FailoverPlan) -> dict[str, Any]:
    """The JSON form of a failover plan."""
    past = plan.past
    return {"host": plan.host, "segment": plan.segment, "recovery_method": plan.recovery_method.value,
            "fencing": plan.fencing.value, "succeeds": plan.succeeds,
            "moves": [{"server_id": move.server_id, "name": move.name, "target": move.target}
                      for move in plan.moves],
            "left": [{"server_id": uuid, "name": name, "reason": why} for uuid, name, why in plan.left],
            "checks": [{"name": check.name, "ok": check.ok, "detail": check.detail} for check in plan.checks],
            "past_recoveries": None if past is None else {"count": past.count, "median_seconds": past.median_seconds,
                                                           "longest_seconds": past.longest_seconds}}


class Capacity:
    """The capacity and failover-plan routes."""

    def __init__(self, cloud: Any, settings: Settings, journal: Journal) -> None:
        self._cloud = cloud
        self._settings = settings
        self._journal = journal

    def plan(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        try:
            with reading_cloud("Nova or Placement"):
                found = failover_plan(self._cloud, self._journal, self._settings, params["name"])
        except UnknownHostError as error:
            raise ApiError(404, str(error)) from error
        except NoSegmentError as error:
            raise ApiError(409, str(error)) from error
        return reply(200, {"failover_plan": plan_view(found)})

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        failures = _failures(request.GET.get("failures", "1"))
        name = request.GET.get("segment")
        with reading_cloud("Nova or Placement"):
            chosen = [segment for segment in segments(self._cloud) if name in (None, segment.name)]
            if name is not None and not chosen:
                raise ApiError(404, f"No segment named {name}.")
            found = verdicts(self._cloud, self._settings, chosen, failures)
        return reply(200, {"capacity": [verdict_view(verdict) for verdict in found]})


def _failures(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_FAILURES:
        raise ApiError(400, f"failures must be a whole number from 1 to {MAX_FAILURES}, not {text[:40]!r}")
    return int(text)
