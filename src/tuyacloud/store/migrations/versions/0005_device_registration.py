"""Device registration (pairing) tokens and the devices that paired with them.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registration_tokens",
        sa.Column("token", sa.Text(), primary_key=True),
        sa.Column("access_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("asset_id", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_registration_tokens_project", "registration_tokens", ["access_id", "region", "created_ms"])
    op.create_table(
        "registration_devices",
        sa.Column("token", sa.Text(), primary_key=True),
        sa.Column("device_id", sa.Text(), primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("registration_devices")
    op.drop_index("ix_registration_tokens_project", "registration_tokens")
    op.drop_table("registration_tokens")
