"""The audit trail: one row per call of an API route that runs steps or changes state, allowed or denied.

Who (the Keystone user and project, or the identity of a webhook's signature), what (the policy rule, the
method and path, the target), when, the request id, the decision and the answer's status, and why a call was
refused. Rows are only added; ``vmha db purge`` deletes those older than its cutoff.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vmha.journal.schema import AuditRow


class AuditDecision(StrEnum):
    """Whether the call was let through authentication and policy."""

    ALLOWED = "allowed"
    DENIED = "denied"


@dataclass(frozen=True)
class AuditEntry:
    """One audited call; ``at`` and ``id`` are given by the journal."""

    request_id: str
    rule: str
    method: str
    path: str
    target: str
    identity: str
    user_id: str | None
    project_id: str | None
    decision: AuditDecision
    status: int
    reason: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    """An audit row as stored."""

    id: int
    at: datetime
    entry: AuditEntry


def add(session: Session, now: datetime, entry: AuditEntry) -> AuditRecord:
    """Store ``entry`` at ``now`` (texts cut to their column's length)."""
    row = AuditRow(at=now, request_id=entry.request_id[:64], rule=entry.rule[:64], method=entry.method[:8],
                   path=entry.path[:255], target=entry.target[:255], identity=entry.identity[:255],
                   user_id=_cut(entry.user_id), project_id=_cut(entry.project_id), decision=entry.decision.value,
                   status=entry.status, reason=entry.reason)
    session.add(row)
    session.flush()
    return _record(row)


def listed(session: Session, *, since: datetime | None, decision: AuditDecision | None,
           limit: int) -> Sequence[AuditRecord]:
    """The newest ``limit`` rows (at or after ``since``, of ``decision`` when given), newest first."""
    query = sa.select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc()).limit(limit)
    if since is not None:
        query = query.where(AuditRow.at >= since)
    if decision is not None:
        query = query.where(AuditRow.decision == decision.value)
    return [_record(row) for row in session.scalars(query)]


def purge(connection: sa.Connection, before: datetime) -> int:
    """Delete the rows older than ``before``; how many."""
    return connection.execute(sa.delete(AuditRow).where(AuditRow.at < before)).rowcount


def _cut(text: str | None) -> str | None:
    return None if text is None else text[:64]


def _record(row: AuditRow) -> AuditRecord:
    entry = AuditEntry(request_id=row.request_id, rule=row.rule, method=row.method, path=row.path,
                       target=row.target, identity=row.identity, user_id=row.user_id, project_id=row.project_id,
                       decision=AuditDecision(row.decision), status=row.status, reason=row.reason)
    return AuditRecord(row.id, row.at, entry)
