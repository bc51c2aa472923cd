"""Absences: since when a failed host has been out of its segment's group (the self-fence lease's clock).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    op.create_table(
        "absences",
        sa.Column("notification_id", sa.String(36), sa.ForeignKey("notifications.id"), primary_key=True),
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("incarnation", sa.String(64), nullable=False),
        sa.Column("since", timestamp, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("absences")
