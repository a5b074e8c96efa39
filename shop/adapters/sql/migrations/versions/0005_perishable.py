"""perishable lots: returned or cancelled confirmed goods are written off, not resold

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lots") as batch:
        batch.add_column(
            sa.Column("perishable", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(
            sa.Column("written_off", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Refunds and returns before this revision were always written off.
    op.execute("UPDATE orders SET written_off = true WHERE status IN ('refunded', 'returned')")


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("written_off")
    with op.batch_alter_table("lots") as batch:
        batch.drop_column("perishable")
