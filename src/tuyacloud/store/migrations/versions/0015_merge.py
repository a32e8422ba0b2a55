"""Join the infrared branch (IR remotes, camera live-stream URLs) to the main line, so the next migration has a
single parent.

Revision ID: 0015
Revises: 0014, 0013_infrared
"""

from __future__ import annotations

revision = "0015"
down_revision = ("0014", "0013_infrared")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
