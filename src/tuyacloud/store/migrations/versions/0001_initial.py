"""The initial schema: projects, tokens, devices, device logs, the message outbox and usage counters.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from tuyacloud.store import tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ["meta", "projects", "tokens", "devices", "device_logs", "messages", "usage"]


def upgrade() -> None:
    bind = op.get_bind()
    for name in _TABLES:
        tables.metadata.tables[name].create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(_TABLES):
        tables.metadata.tables[name].drop(bind)
