"""address resolution: how an order's ward was found, and what the buyer typed

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: orders placed before this revision did not record either.
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("address_match", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("address_typed", sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("address_typed")
        batch.drop_column("address_match")
