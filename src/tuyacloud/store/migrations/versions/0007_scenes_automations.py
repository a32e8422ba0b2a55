"""Scenes (tap-to-run), automations (device linkage) and the device index of automation conditions.

Revision ID: 0007_scenes
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_scenes"
down_revision = "0006"
branch_labels = None
depends_on = None


def _text(name: str, primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), primary_key=primary_key, nullable=False)


def _int(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), nullable=False)


def _ms(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table("scenes", _text("id", True), _text("home_id"), _text("region"), _text("name"),
                    _text("background"), _int("enabled"), _text("actions"), _ms("created_ms"), _ms("updated_ms"))
    op.create_index("ix_scenes_home", "scenes", ["home_id", "created_ms"])
    op.create_table("automations", _text("id", True), _text("home_id"), _text("region"), _text("name"),
                    _text("background"), _int("enabled"), _int("match_type"), _text("condition_rule"),
                    _text("conditions"), _text("preconditions"), _text("actions"), _int("has_schedule"),
                    _ms("last_fired_minute"), _ms("created_ms"), _ms("updated_ms"))
    op.create_index("ix_automations_home", "automations", ["home_id", "created_ms"])
    op.create_index("ix_automations_schedule", "automations", ["has_schedule", "enabled"])
    op.create_table("automation_devices", _text("automation_id", True), _text("device_id", True))
    op.create_index("ix_automation_devices_device", "automation_devices", ["device_id", "automation_id"])


def downgrade() -> None:
    for table in ("automation_devices", "automations", "scenes"):
        op.drop_table(table)
