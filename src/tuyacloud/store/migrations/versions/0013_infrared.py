"""Infrared remotes bound to IR blasters, and camera live-stream URLs.

Revision ID: 0013_infrared
Revises: 0012
"""

from __future__ import annotations

from alembic import op

from tuyacloud.store import tables

revision = "0013_infrared"
down_revision = "0012"
branch_labels = None
depends_on = None

_NEW = ("infrared_remotes", "camera_streams")


def upgrade() -> None:
    bind = op.get_bind()
    for name in _NEW:
        tables.metadata.tables[name].create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for name in reversed(_NEW):
        tables.metadata.tables[name].drop(bind)
