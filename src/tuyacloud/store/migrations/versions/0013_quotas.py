"""Quotas (opt-in trial limits): each project's own quota settings, and its counted calls and messages per month.

Revision ID: 0013_quotas
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_quotas"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_settings",
        sa.Column("access_id", sa.Text(), primary_key=True, nullable=False),
        sa.Column("plan", sa.Text(), nullable=True),
        sa.Column("monthly_calls", sa.BigInteger(), nullable=True),
        sa.Column("monthly_messages", sa.BigInteger(), nullable=True),
        sa.Column("devices", sa.BigInteger(), nullable=True),
        sa.Column("month_offset", sa.Integer(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "quota_usage",
        sa.Column("access_id", sa.Text(), primary_key=True, nullable=False),
        sa.Column("period", sa.Text(), primary_key=True, nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quota_usage")
    op.drop_table("quota_settings")
