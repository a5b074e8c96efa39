"""order codes: the short code every order shows its buyer

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Repeated from shop/order_code.py: a migration must not change when the code does.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def _code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(8))


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=8), nullable=True))
    conn = op.get_bind()
    orders = sa.table("orders", sa.column("id", sa.String), sa.column("code", sa.String))
    used: set[str] = set()
    for (order_id,) in conn.execute(sa.select(orders.c.id)).all():
        code = _code()
        while code in used:
            code = _code()
        used.add(code)
        conn.execute(sa.update(orders).where(orders.c.id == order_id).values(code=code))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("code", existing_type=sa.String(length=8), nullable=False)
        batch_op.create_unique_constraint("uq_orders_code", ["code"])


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("uq_orders_code", type_="unique")
        batch_op.drop_column("code")
