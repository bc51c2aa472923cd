"""Initial journal schema: notifications, dedup claims, step runs, instance progress, progress events.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ts() -> sa.types.TypeEngine[datetime]:
    """Naive-UTC timestamp with microseconds (MariaDB/MySQL need fsp=6 for them)."""
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _status_check(*values: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"status IN ({', '.join(repr(v) for v in values)})", name="status")


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("generated_time", _ts(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("segment", sa.String(255), nullable=True),
        sa.Column("recovery_method", sa.String(32), nullable=True),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("deadline", _ts(), nullable=False),
        _status_check("new", "running", "error", "finished", "ignored", "failed"),
    )
    op.create_index("ix_notifications_created", "notifications", ["created_at", "id"])
    op.create_index("ix_notifications_status_deadline", "notifications", ["status", "deadline"])
    op.create_index("ix_notifications_hostname_type", "notifications", ["hostname", "type"])
    op.create_table(
        "notification_dedup",
        sa.Column("dedup_key", sa.String(64), primary_key=True),
        sa.Column("notification_id", sa.String(36), sa.ForeignKey("notifications.id"), nullable=False),
        sa.Column("claimed_at", _ts(), nullable=False),
    )
    _create_step_runs()
    _create_instance_progress()
    _create_progress_events()


def _create_step_runs() -> None:
    op.create_table(
        "step_runs",
        sa.Column("notification_id", sa.String(36), sa.ForeignKey("notifications.id"), primary_key=True),
        sa.Column("step_id", sa.String(64), primary_key=True),
        sa.Column("instance_uuid", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("lease_expires_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts(), nullable=True),
        sa.Column("updated_at", _ts(), nullable=False),
        _status_check("in_progress", "succeeded", "skipped", "failed"),
    )


def _create_instance_progress() -> None:
    op.create_table(
        "instance_progress",
        sa.Column("notification_id", sa.String(36), sa.ForeignKey("notifications.id"), primary_key=True),
        sa.Column("instance_uuid", sa.String(36), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source_host", sa.String(255), nullable=True),
        sa.Column("dest_host", sa.String(255), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("started_at", _ts(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts(), nullable=True),
        _status_check("pending", "ongoing", "succeeded", "failed", "ignored"),
    )


def _create_progress_events() -> None:
    op.create_table(
        "progress_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("notification_id", sa.String(36), sa.ForeignKey("notifications.id"), nullable=False),
        sa.Column("step_id", sa.String(64), nullable=False),
        sa.Column("instance_uuid", sa.String(36), nullable=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )
    op.create_index("ix_progress_events_notification", "progress_events", ["notification_id", "id"])


def downgrade() -> None:
    for table in ("progress_events", "instance_progress", "step_runs", "notification_dedup", "notifications"):
        op.drop_table(table)
