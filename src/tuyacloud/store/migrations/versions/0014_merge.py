"""Join the two schema branches made side by side (the task leases of several server processes, the opt-in
quotas) into one head, so the next migration has a single parent.

Revision ID: 0014
Revises: 0013_workers, 0013_quotas
"""

from __future__ import annotations

revision = "0014"
down_revision = ("0013_workers", "0013_quotas")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
