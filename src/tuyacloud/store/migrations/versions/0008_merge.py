"""Join the three schema branches made side by side (console, scenes and automations, timers) into one head, so
the next migration has a single parent.

Revision ID: 0008
Revises: 0007_console, 0007_scenes, 0007_timers
"""

from __future__ import annotations

revision = "0008"
down_revision = ("0007_console", "0007_scenes", "0007_timers")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
