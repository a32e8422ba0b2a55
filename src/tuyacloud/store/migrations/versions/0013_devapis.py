"""Gateways and sub-devices, frozen devices, sub-device discovery.

A device row gains its gateway (``gateway_id``, empty for a directly connected device), its node id on the
gateway's network, whether the project froze it, and whether its gateway took it offline (it comes back with the
gateway). ``gateway_discovery`` holds the gateways searching for sub-devices and until when.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("devices", sa.Column("gateway_id", sa.Text(), nullable=False, server_default=""))
    op.add_column("devices", sa.Column("node_id", sa.Text(), nullable=False, server_default=""))
    op.add_column("devices", sa.Column("frozen", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("devices", sa.Column("gateway_held", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_devices_gateway", "devices", ["gateway_id", "region"])
    op.create_table(
        "gateway_discovery",
        sa.Column("gateway_id", sa.Text(), primary_key=True, nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("started_ms", sa.BigInteger(), nullable=False),
        sa.Column("until_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gateway_discovery")
    op.drop_index("ix_devices_gateway", table_name="devices")
    with op.batch_alter_table("devices") as batch:
        for name in ("gateway_held", "frozen", "node_id", "gateway_id"):
            batch.drop_column(name)
