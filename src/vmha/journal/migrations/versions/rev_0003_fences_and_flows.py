"""Fence records (the proof a failed host is dead) and the flow intake fixed for each notification.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    op.add_column("notifications", sa.Column("flow", sa.JSON(), nullable=True))
    op.create_table(
        "fences",
        sa.Column("notification_id", sa.String(36), sa.ForeignKey("notifications.id"), primary_key=True),
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("fenced_at", timestamp, nullable=False),
        sa.CheckConstraint("method IN ('redfish', 'ipmi', 'self_fence', 'opted_out')", name="method"),
    )


def downgrade() -> None:
    op.drop_table("fences")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("flow")
