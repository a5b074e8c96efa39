"""operate: lots attached to sessions, moderators per session, sale pause, photos, order desk

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("password_token_hash", sa.String(length=64), nullable=True))
    op.add_column(
        "users", sa.Column("password_token_expires", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "live_sessions",
        sa.Column("sale_paused", sa.Boolean(), server_default="0", nullable=False),
    )
    op.add_column("live_sessions", sa.Column("banned_words", sa.JSON(), nullable=True))
    op.add_column("session_streamers", sa.Column("position", sa.String(length=100), nullable=True))
    op.create_table(
        "session_lots",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("attached_by", sa.Integer(), nullable=True),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detached_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_session_lots_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["live_sessions.id"],
            name=op.f("fk_session_lots_session_id_live_sessions"),
        ),
        sa.PrimaryKeyConstraint("session_id", "lot_id", name=op.f("pk_session_lots")),
    )
    op.create_table(
        "session_moderators",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["live_sessions.id"],
            name=op.f("fk_session_moderators_session_id_live_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_session_moderators_user_id_users")
        ),
        sa.PrimaryKeyConstraint("session_id", "user_id", name=op.f("pk_session_moderators")),
    )
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_type", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=64), nullable=False),
        sa.Column("widths", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("owner_type in ('lot','offer')", name=op.f("ck_photos_owner_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_photos_storage_key")),
    )
    op.create_index("ix_photos_owner", "photos", ["owner_type", "owner_id"], unique=False)
    op.create_table(
        "desk_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("intent_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("grams", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state in ('new','claimed','ordered','dismissed')", name=op.f("ck_desk_items_state")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["live_sessions.id"],
            name=op.f("fk_desk_items_session_id_live_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_items")),
        sa.UniqueConstraint("session_id", "intent_id", name="uq_desk_items_session_intent"),
    )


def downgrade() -> None:
    op.drop_table("desk_items")
    op.drop_index("ix_photos_owner", table_name="photos")
    op.drop_table("photos")
    op.drop_table("session_moderators")
    op.drop_table("session_lots")
    with op.batch_alter_table("session_streamers") as batch:
        batch.drop_column("position")
    with op.batch_alter_table("live_sessions") as batch:
        batch.drop_column("banned_words")
        batch.drop_column("sale_paused")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_token_expires")
        batch.drop_column("password_token_hash")
