"""Leases of named background tasks (message retention, token and credential sweeps): one process runs each.

Revision ID: 0013_workers
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_workers"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_leases",
        sa.Column("name", sa.Text(), primary_key=True, nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("task_leases")
