"""exam day: rooms, accommodations, pauses, invigilators, announcements

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("candidates") as batch:
        batch.add_column(sa.Column("room", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("extra_seconds", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("extended_seconds", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("attempts") as batch:
        # "invigilator" is longer than "manual" and "auto".
        batch.alter_column(
            "submit_kind", existing_type=sa.String(length=8), type_=sa.String(length=16)
        )
        batch.add_column(sa.Column("paused_at", sa.BigInteger(), nullable=True))
        batch.add_column(
            sa.Column("paused_micros", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("reopened", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.create_table(
        "invigilators",
        sa.Column("exam_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rooms", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exam_id", "id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "announcements",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("exam_id", sa.String(length=64), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("announcements_exam", "announcements", ["exam_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("announcements_exam", table_name="announcements")
    op.drop_table("announcements")
    op.drop_table("invigilators")
    with op.batch_alter_table("attempts") as batch:
        batch.drop_column("reopened")
        batch.drop_column("paused_micros")
        batch.drop_column("paused_at")
        batch.alter_column(
            "submit_kind", existing_type=sa.String(length=16), type_=sa.String(length=8)
        )
    with op.batch_alter_table("candidates") as batch:
        batch.drop_column("extended_seconds")
        batch.drop_column("extra_seconds")
        batch.drop_column("room")
