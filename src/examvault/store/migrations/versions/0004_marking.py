"""written answers: marks on answers, markers, the per-exam secret of script ids

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A person's mark lives on the answer it marks: a regrade rescoring the row from
    # scratch sees it, and a save that changes the response (after a reopen) clears it.
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("mark", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("mark_comment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("marked_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("marked_at", sa.BigInteger(), nullable=True))
    op.create_table(
        "markers",
        sa.Column("exam_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("questions", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("registered_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exam_id", "id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "script_keys",
        sa.Column("exam_id", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("exam_id"),
    )


def downgrade() -> None:
    op.drop_table("script_keys")
    op.drop_table("markers")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("marked_at")
        batch.drop_column("marked_by")
        batch.drop_column("mark_comment")
        batch.drop_column("mark")
