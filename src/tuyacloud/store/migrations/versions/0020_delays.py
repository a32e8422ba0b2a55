"""Actions of scene and automation runs still to run (after a delay): kept in the store so a restart or a dead
process loses none of them.

Revision ID: 0020
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_actions",
        sa.Column("run_id", sa.Text(), primary_key=True, nullable=False),
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False, nullable=False),
        sa.Column("due_ms", sa.BigInteger(), nullable=False),
        sa.Column("home_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("chain", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
    )
    op.create_index("ix_pending_actions_due", "pending_actions", ["due_ms"])


def downgrade() -> None:
    op.drop_index("ix_pending_actions_due", table_name="pending_actions")
    op.drop_table("pending_actions")
