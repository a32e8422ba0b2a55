"""Join the two schema branches made side by side (the simulator's leases, the MQTT open-hub's credentials) into
one head, so the next migration has a single parent.

Revision ID: 0011
Revises: 0010_sim_leases, 0010_mqtt
"""

from __future__ import annotations

revision = "0011"
down_revision = ("0010_sim_leases", "0010_mqtt")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
