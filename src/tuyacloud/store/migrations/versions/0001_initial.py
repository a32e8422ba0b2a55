"""The initial schema: projects, tokens, devices, device logs, the message outbox and usage counters.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tuyacloud.store import tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TABLES = ["meta", "projects", "tokens", "devices", "device_logs", "messages", "usage"]


# Columns and indexes added by later revisions: the table objects are the current ones, so leave those out here.
_LATER_COLUMNS = {"projects": {"legacy_signing"},
                  "devices": {"gateway_id", "node_id", "frozen", "gateway_held"}}  # 0013
_LATER_INDEXES = {"device_logs": {"ix_device_logs_online"}, "devices": {"ix_devices_gateway"}}


def _as_of_this_revision(name: str) -> sa.Table:
    table = tables.metadata.tables[name]
    later = _LATER_COLUMNS.get(name, set())
    later_indexes = _LATER_INDEXES.get(name, set())
    if not later and not later_indexes:
        return table
    columns = [
        sa.Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, server_default=c.server_default,
                  autoincrement=c.autoincrement)
        for c in table.columns
        if c.name not in later
    ]
    indexes = [
        sa.Index(ix.name, *[c.name for c in ix.columns], unique=ix.unique, **ix.dialect_kwargs)
        for ix in table.indexes
        if ix.name not in later_indexes
    ]
    return sa.Table(name, sa.MetaData(), *columns, *indexes)


def upgrade() -> None:
    bind = op.get_bind()
    for name in _TABLES:
        _as_of_this_revision(name).create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(_TABLES):
        tables.metadata.tables[name].drop(bind)
