"""The MQTT open-hub: the credentials issued to links (hashed passwords, expiry, delivery position, connection).

Revision ID: 0010_mqtt
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from tuyacloud.store import tables

revision = "0010_mqtt"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    tables.metadata.tables["mqtt_credentials"].create(op.get_bind())


def downgrade() -> None:
    tables.metadata.tables["mqtt_credentials"].drop(op.get_bind())
