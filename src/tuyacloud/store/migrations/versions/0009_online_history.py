"""A partial index over the online/offline rows of the device logs, for the console's online devices per day.

Only those rows are indexed (event_id 1 online, 2 offline), so the command path's log inserts pay nothing for it.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_WHERE = sa.text("event_id IN (1, 2)")


def upgrade() -> None:
    op.create_index("ix_device_logs_online", "device_logs", ["device_id", "event_time"],
                    sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade() -> None:
    op.drop_index("ix_device_logs_online", table_name="device_logs")
