"""Join the PostgreSQL cache triggers (0018) and the durable delayed scene actions (0020) to one line, so the next
migration has a single parent.

Revision ID: 0021
Revises: 0018, 0020
"""

from __future__ import annotations

revision = "0021"
down_revision = ("0018", "0020")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
