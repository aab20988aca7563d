"""analytics documents

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analytics",
        sa.Column("exam_id", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.BigInteger(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("exam_id"),
    )


def downgrade() -> None:
    op.drop_table("analytics")
