"""Timers: the scheduled tasks of devices (v1.0 timer groups and v2.0 timers in one table).

Revision ID: 0007_timers
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_timers"
down_revision = "0006"
branch_labels = None
depends_on = None


def _text(name: str, primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), primary_key=primary_key, nullable=False)


def _int(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), nullable=False)


def _ms(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "timers", sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                            autoincrement=True),
        sa.Column("id", sa.Text(), nullable=False, unique=True), _text("device_id"), _text("region"),
        _text("group_id"), _text("category"),
        _int("group_order"), _text("alias_name"), _text("run_time"), _text("run_date"), _text("loops"),
        _text("timezone_id"), _text("time_zone"), _text("functions"), _int("enabled"), _int("is_app_push"),
        _ms("next_run_ms", True), _ms("last_run_ms", True), _text("last_result"), _ms("created_ms"),
        _ms("updated_ms"),
    )
    op.create_index("ix_timers_device", "timers", ["device_id", "group_id"])
    op.create_index("ix_timers_next_run", "timers", ["next_run_ms"])


def downgrade() -> None:
    op.drop_table("timers")
