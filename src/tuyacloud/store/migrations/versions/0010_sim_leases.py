"""The simulator's shard leases and pokes: one server process drives each virtual device.

Revision ID: 0010_sim_leases
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_sim_leases"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sim_leases",
        sa.Column("shard", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "sim_pokes",
        sa.Column("device_id", sa.Text(), primary_key=True, nullable=False),
        sa.Column("region", sa.Text(), primary_key=True, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sim_pokes")
    op.drop_table("sim_leases")
