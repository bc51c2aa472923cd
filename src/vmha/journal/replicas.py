"""Journal operations on gateway replicas, the Zaqar claims they hold and the steps they run, inside the
caller's Session (see ``vmha.runtime.replicas`` for who calls them and when)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from vmha.journal.records import Heartbeat, HeldClaim, StepStatus
from vmha.journal.schema import ClaimRow, ReplicaRow, StepRunRow, table_of

_CLAIMS = table_of(ClaimRow)
_MESSAGE = sa.and_(_CLAIMS.c.queue == sa.bindparam("key_queue"), _CLAIMS.c.message_id == sa.bindparam("key_message"))
_RETAKE = sa.update(_CLAIMS).where(_MESSAGE)
_HOLD = sa.insert(_CLAIMS)
_FORGET = sa.delete(_CLAIMS).where(_MESSAGE, _CLAIMS.c.claim_id == sa.bindparam("key_claim"),
                                   _CLAIMS.c.owner == sa.bindparam("key_owner"))
"""Statements built once: every held step message records its claim and forgets it."""


def join(session: Session, now: datetime, owner: str, *, host: str, pid: int) -> None:
    """Record ``owner`` as a live replica with no beat yet."""
    session.add(ReplicaRow(owner=owner, host=host, pid=pid, started_at=now, beats=0, beat_at=now))


def beat(session: Session, now: datetime, owner: str, released: Iterable[HeldClaim]) -> bool:
    """Count one heartbeat of ``owner`` and forget the claims it no longer holds; False when ``owner`` is no
    longer a replica (another took it over)."""
    forget(session, owner, released)
    moved = session.execute(
        sa.update(ReplicaRow).where(ReplicaRow.owner == owner).values(beats=ReplicaRow.beats + 1, beat_at=now))
    return bool(getattr(moved, "rowcount", 0))


def leave(session: Session, owner: str) -> None:
    """``owner`` stops: its row and its claim records go (it released its claims itself)."""
    session.execute(sa.delete(ClaimRow).where(ClaimRow.owner == owner))
    session.execute(sa.delete(ReplicaRow).where(ReplicaRow.owner == owner))


def hold(session: Session, now: datetime, owner: str, claim: HeldClaim) -> None:
    """Record that ``owner`` holds ``claim`` (replacing the record of an earlier claim on the same message)."""
    connection = session.connection()
    values = {"claim_id": claim.claim_id, "owner": owner, "claimed_at": now}
    if connection.execute(_RETAKE, {"key_queue": claim.queue, "key_message": claim.message_id, **values}).rowcount:
        return
    connection.execute(_HOLD, {"queue": claim.queue, "message_id": claim.message_id, **values})


def forget(session: Session, owner: str, claims: Iterable[HeldClaim]) -> None:
    """Forget the records of ``claims`` held by ``owner`` (not a newer claim on the same message)."""
    connection = session.connection()
    for claim in claims:
        connection.execute(_FORGET, {"key_queue": claim.queue, "key_message": claim.message_id,
                                     "key_claim": claim.claim_id, "key_owner": owner})


def heartbeats(session: Session, now: datetime) -> tuple[Heartbeat, ...]:
    """Every owner known to live or to hold something (claims, or step leases live at ``now``)."""
    known = {row.owner: Heartbeat(row.owner, row.beats, row.host, row.pid)
             for row in session.scalars(sa.select(ReplicaRow))}
    holders = session.scalars(sa.select(ClaimRow.owner).distinct()).all()
    runners = session.scalars(sa.select(StepRunRow.owner).distinct().where(
        StepRunRow.status == StepStatus.IN_PROGRESS.value, StepRunRow.owner.is_not(None),
        StepRunRow.lease_expires_at > now)).all()
    for owner in (*holders, *runners):
        if owner is not None and owner not in known:
            known[owner] = Heartbeat(owner, -1)
    return tuple(known.values())


def take_over(session: Session, now: datetime, owner: str) -> tuple[HeldClaim, ...]:
    """``owner`` is dead: remove it, end the leases of the steps it runs at ``now``, return the claims it held
    (the caller releases them in Zaqar, then ``forget``s them)."""
    session.execute(sa.delete(ReplicaRow).where(ReplicaRow.owner == owner))
    session.execute(sa.update(StepRunRow).where(
        StepRunRow.owner == owner, StepRunRow.status == StepStatus.IN_PROGRESS.value,
        StepRunRow.lease_expires_at > now).values(lease_expires_at=now))
    rows = session.scalars(sa.select(ClaimRow).where(ClaimRow.owner == owner))
    return tuple(HeldClaim(row.queue, row.message_id, row.claim_id) for row in rows)
