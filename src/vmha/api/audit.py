"""The API's audit trail: every call of a route that runs steps or changes state, written to the journal, and
``GET /v1/audit`` to read it.

Audited: every POST, PUT and DELETE route (Lambda invoke, Qinling executions, the Masakari writes, the Aodh
webhook) except the two that only wake the consumers and change nothing (``/v1/wakeup`` and the Zaqar push:
one row per queued message would outgrow what it tells). A call refused by authentication or policy is
``denied`` with the reason; keystonemiddleware's own 401s (no or an invalid token) never reach the app and are
in its log only. The trail is read through the API rather than a ``vmha`` command on the journal: reading it
is itself a policy decision (``vmha:audit:index``), from anywhere a token reaches, with no database
credentials on the reader's machine. A failed audit write is logged and the answer still given: the call has
already happened.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import webob

from vmha.api.policy import Caller
from vmha.api.web import ApiError, reply
from vmha.journal import Journal
from vmha.journal.audit import AuditDecision, AuditEntry, AuditRecord

log = logging.getLogger(__name__)

UNAUDITED = frozenset({"vmha:wakeup", "vmha:webhooks:zaqar", "vmha:webhooks:zaqar:token"})
TARGET_KEY = "vmha.audit.target"  # a handler may name its target better than the path's parameters
_WRITES = ("POST", "PUT", "DELETE")
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def audited(method: str, rule: str) -> bool:
    """Whether calls of the route ``method``/``rule`` are audited."""
    return method in _WRITES and rule not in UNAUDITED


def entry(request: webob.Request, rule: str, params: Mapping[str, str], caller: Caller, *, admitted: bool,
          response: webob.Response, reason: str | None) -> AuditEntry:
    """The audit entry of one answered call; ``admitted``: authentication and policy let it through."""
    denied = not admitted or response.status_code in (401, 403)
    target = request.environ.get(TARGET_KEY) or ",".join(f"{key}={value}" for key, value in params.items())
    return AuditEntry(request_id=str(request.environ.get("openstack.request_id", "")), rule=rule,
                      method=request.method, path=request.path_info, target=target or "-",
                      identity=caller.identity, user_id=caller.user_id, project_id=caller.project_id,
                      decision=AuditDecision.DENIED if denied else AuditDecision.ALLOWED,
                      status=response.status_code, reason=reason if denied or response.status_code >= 400 else None)


def write(journal: Journal, audit: AuditEntry) -> None:
    """Add ``audit`` to the journal; a failure is logged (the call was answered already)."""
    try:
        journal.audit(audit)
    except Exception:
        log.exception("audit row not written", extra={"rule": audit.rule, "request_id": audit.request_id})


class AuditTrail:
    """``GET /v1/audit[?since=ISO-TIME&decision=allowed|denied&limit=N]``: newest first."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def index(self, request: webob.Request, params: Mapping[str, str]) -> webob.Response:
        decision = request.GET.get("decision")
        if decision is not None and decision not in {item.value for item in AuditDecision}:
            raise ApiError(400, f"decision must be allowed or denied, got {decision[:40]!r}")
        rows = self._journal.list_audit(since=_since(request.GET.get("since")), limit=_limit(request.GET.get("limit")),
                                        decision=None if decision is None else AuditDecision(decision))
        return reply(200, {"audit": [view(row) for row in rows]})


def view(record: AuditRecord) -> dict[str, Any]:
    """The JSON form of an audit row."""
    audit = record.entry
    return {"id": record.id, "at": record.at.isoformat(), "request_id": audit.request_id, "rule": audit.rule,
            "method": audit.method, "path": audit.path, "target": audit.target, "identity": audit.identity,
            "user_id": audit.user_id, "project_id": audit.project_id, "decision": audit.decision.value,
            "status": audit.status, "reason": audit.reason}


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        since = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"since must be an ISO 8601 time, got {text[:40]!r}") from None
    if since.utcoffset() is None:
        raise ApiError(400, "since must carry its time zone (e.g. 2026-12-04T12:00:00+00:00)")
    return since


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(text)
