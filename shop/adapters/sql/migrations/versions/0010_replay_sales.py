"""replay sales: a sale kept open after the end, and the price of each replay moment

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_sessions") as batch:
        batch.add_column(
            sa.Column("sale_after_end", sa.Boolean(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("session_moments") as batch:
        batch.add_column(sa.Column("price", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_moments") as batch:
        batch.drop_column("price")
    with op.batch_alter_table("live_sessions") as batch:
        batch.drop_column("sale_after_end")
