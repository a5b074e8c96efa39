"""restream destinations: each session's RTMP/RTMPS URLs (stream keys inside) and switches

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "session_restreams",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["live_sessions.id"],
            name=op.f("fk_session_restreams_session_id_live_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "position", name=op.f("pk_session_restreams")),
    )


def downgrade() -> None:
    op.drop_table("session_restreams")
