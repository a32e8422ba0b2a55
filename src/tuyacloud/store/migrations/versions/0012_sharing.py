"""Device sharing (Home Assistant's Tuya integration): app users' user codes and QR logins awaiting approval.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _text(name: str, primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), primary_key=primary_key, nullable=False)


def _ms(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table("sharing_user_codes", _text("code", True), _text("uid"), _ms("created_ms"))
    op.create_index("ux_sharing_user_codes_uid", "sharing_user_codes", ["uid"], unique=True)
    op.create_table("sharing_logins", _text("qrcode", True), _text("user_code"), _text("uid"), _text("client_id"),
                    _text("schema"), _text("state"), _ms("created_ms"), _ms("expires_ms"))
    op.create_index("ix_sharing_logins_state", "sharing_logins", ["state", "expires_ms"])


def downgrade() -> None:
    op.drop_table("sharing_logins")
    op.drop_table("sharing_user_codes")
