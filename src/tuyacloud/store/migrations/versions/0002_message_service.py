"""The message service: subscriptions with their acknowledgements and failover lease, and connected consumers.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from tuyacloud.store import tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TABLES = ["subscriptions", "subscription_acks", "consumers"]


def upgrade() -> None:
    bind = op.get_bind()
    for name in _TABLES:
        tables.metadata.tables[name].create(bind)
    op.create_index("ix_messages_created", "messages", ["created_ms"])


def downgrade() -> None:
    op.drop_index("ix_messages_created", "messages")
    bind = op.get_bind()
    for name in reversed(_TABLES):
        tables.metadata.tables[name].drop(bind)
