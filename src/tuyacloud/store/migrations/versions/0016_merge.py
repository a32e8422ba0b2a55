"""Join the gateways branch (sub-device columns, frozen devices, gateway discovery) to the main line, so the
next migration has a single parent.

Revision ID: 0016
Revises: 0015, 0013
"""

from __future__ import annotations

revision = "0016"
down_revision = ("0015", "0013")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
