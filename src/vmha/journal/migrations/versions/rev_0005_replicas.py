"""Replicas and the claims they hold, and the replica running each step: a dead replica's work is taken over
at once.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    op.create_table(
        "replicas",
        sa.Column("owner", sa.String(128), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", timestamp, nullable=False),
        sa.Column("beats", sa.BigInteger, nullable=False),
        sa.Column("beat_at", timestamp, nullable=False),
    )
    op.create_table(
        "claims",
        sa.Column("queue", sa.String(64), primary_key=True),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("claim_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(128), nullable=False, index=True),
        sa.Column("claimed_at", timestamp, nullable=False),
    )
    with op.batch_alter_table("step_runs") as table:
        table.add_column(sa.Column("owner", sa.String(128), nullable=True))
        table.create_index("ix_step_runs_owner", ["owner"])


def downgrade() -> None:
    with op.batch_alter_table("step_runs") as table:
        table.drop_index("ix_step_runs_owner")
        table.drop_column("owner")
    op.drop_table("claims")
    op.drop_table("replicas")
