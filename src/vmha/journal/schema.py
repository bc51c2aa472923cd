"""The journal's SQL tables as SQLAlchemy 2 typed declarative models (internal to vmha.journal).

Portability rules (SQLite, MariaDB, PostgreSQL): every string has an explicit length, closed sets are
VARCHAR + CHECK (no native enums), JSON uses the generic JSON type, timestamps are stored as naive UTC with
microseconds and come back timezone-aware. Constraint names follow one naming convention so that
migrations can refer to them on every backend. Any change here needs a new revision in `migrations/`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from vmha.journal.records import ExecutionStatus, FenceMethod, InstanceStatus, NotificationStatus, StepStatus

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC in Python, naive UTC in the database; refuses naive datetimes."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(sa.DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"the journal stores timezone-aware datetimes only, got {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def one_of(column: str, values: Iterable[StrEnum]) -> str:
    """SQL text of a CHECK that `column` holds one of `values`."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: sa.JSON()}


def table_of(model: type[Base]) -> sa.Table:
    """The table of ``model``, for Core statements: the hot paths (a step run's start and end, a server's progress,
    a branch's read) skip the ORM's identity map and unit of work, most of what a journal call cost in CPU."""
    return cast(sa.Table, model.__table__)


class NotificationRow(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", NotificationStatus), name="status"),
        sa.Index("ix_notifications_created", "created_at", "id"),
        sa.Index("ix_notifications_status_deadline", "status", "deadline"),
        sa.Index("ix_notifications_hostname_type", "hostname", "type"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(32))
    hostname: Mapped[str] = mapped_column(sa.String(255))
    generated_time: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(sa.String(255))
    status: Mapped[str] = mapped_column(sa.String(16))
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    segment: Mapped[str | None] = mapped_column(sa.String(255))
    recovery_method: Mapped[str | None] = mapped_column(sa.String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deadline: Mapped[datetime]
    flow: Mapped[list[str] | None] = mapped_column(sa.JSON)


class FenceRow(Base):
    """The proof that a notification's host is dead, or its segment's opt-out: at most one per (notification, host)."""

    __tablename__ = "fences"
    __table_args__ = (sa.CheckConstraint(one_of("method", FenceMethod), name="method"),)

    notification_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("notifications.id"), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    method: Mapped[str] = mapped_column(sa.String(16))
    evidence: Mapped[dict[str, Any]]
    fenced_at: Mapped[datetime]


class AbsenceRow(Base):
    """Since when a notification's host has been out of its segment's group (the self-fence lease's clock)."""

    __tablename__ = "absences"

    notification_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("notifications.id"), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    incarnation: Mapped[str] = mapped_column(sa.String(64))
    since: Mapped[datetime]


class DedupClaimRow(Base):
    """Latest accepted notification per hash of (type, hostname, payload): answers 'same inside a window'."""

    __tablename__ = "notification_dedup"

    dedup_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    notification_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("notifications.id"))
    claimed_at: Mapped[datetime]


class StepRunRow(Base):
    __tablename__ = "step_runs"
    __table_args__ = (sa.CheckConstraint(one_of("status", StepStatus), name="status"),)

    notification_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("notifications.id"), primary_key=True)
    step_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int]
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    owner: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    """The gateway replica running the step (``ReplicaRow.owner``): when it dies, its lease ends at once."""


class ReplicaRow(Base):
    """A live gateway replica and its heartbeat: a count the others watch move (no clock is compared)."""

    __tablename__ = "replicas"

    owner: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    beats: Mapped[int] = mapped_column(sa.BigInteger)
    beat_at: Mapped[datetime]


class ClaimRow(Base):
    """A Zaqar claim a replica holds (``HeldClaim``): released by the others when the replica dies."""

    __tablename__ = "claims"

    queue: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    claim_id: Mapped[str] = mapped_column(sa.String(64))
    owner: Mapped[str] = mapped_column(sa.String(128), index=True)
    claimed_at: Mapped[datetime]


class InstanceProgressRow(Base):
    __tablename__ = "instance_progress"
    __table_args__ = (sa.CheckConstraint(one_of("status", InstanceStatus), name="status"),)

    notification_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("notifications.id"), primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    source_host: Mapped[str | None] = mapped_column(sa.String(255))
    dest_host: Mapped[str | None] = mapped_column(sa.String(255))
    message: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class ProgressEventRow(Base):
    __tablename__ = "progress_events"
    __table_args__ = (
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
        sa.Index("ix_progress_events_notification", "notification_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    notification_id: Mapped[str] = mapped_column(sa.String(36), sa.ForeignKey("notifications.id"))
    step_id: Mapped[str] = mapped_column(sa.String(64))
    instance_uuid: Mapped[str] = mapped_column(sa.String(36))
    at: Mapped[datetime]
    message: Mapped[str] = mapped_column(sa.Text)
    progress: Mapped[float] = mapped_column(sa.Float)


class ExecutionRow(Base):
    """One function execution through the gateway API (not part of any notification's recovery)."""

    __tablename__ = "executions"
    __table_args__ = (sa.CheckConstraint(one_of("status", ExecutionStatus), name="status"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    function: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16))
    sync: Mapped[bool] = mapped_column(sa.Boolean)
    input: Mapped[dict[str, Any]]
    output: Mapped[dict[str, Any] | None]
    duration_seconds: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class AuditRow(Base):
    """One call of an API route that runs steps or changes state, allowed or denied (``vmha.journal.audit``)."""

    __tablename__ = "audit"
    __table_args__ = (sa.CheckConstraint("decision IN ('allowed', 'denied')", name="decision"),
                      sa.Index("ix_audit_at", "at"))

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    request_id: Mapped[str] = mapped_column(sa.String(64))
    rule: Mapped[str] = mapped_column(sa.String(64))
    method: Mapped[str] = mapped_column(sa.String(8))
    path: Mapped[str] = mapped_column(sa.String(255))
    target: Mapped[str] = mapped_column(sa.String(255))
    identity: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[str | None] = mapped_column(sa.String(64))
    project_id: Mapped[str | None] = mapped_column(sa.String(64))
    decision: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[int]
    reason: Mapped[str | None] = mapped_column(sa.Text)


_KNOWN = sa.select(table_of(NotificationRow).c.id).where(table_of(NotificationRow).c.id == sa.bindparam("id"))


def known(connection: sa.Connection, notification_id: str) -> bool:
    """Whether the notification ``notification_id`` is recorded (one indexed read, for the hot paths' checks)."""
    return connection.execute(_KNOWN, {"id": notification_id}).first() is not None
