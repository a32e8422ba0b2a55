"""Smart home: apps and their project links, app users, homes, members, rooms, pairing tokens.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _text(name: str, primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), primary_key=primary_key, nullable=False)


def _ms(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table("apps", _text("schema", True), _text("name"), _text("region"), _ms("created_ms"))
    op.create_table("app_links", _text("schema", True), _text("access_id", True), _ms("created_ms"))
    op.create_index("ix_app_links_project", "app_links", ["access_id", "schema"])
    op.create_table(
        "app_users", _text("id", True), _text("schema"), _text("region"), _text("username"),
        sa.Column("username_type", sa.Integer(), nullable=False), _text("country_code"), _text("nick_name"),
        _text("time_zone_id"), _text("password_hash"), _ms("created_ms"), _ms("updated_ms"),
    )
    op.create_index("ux_app_users_name", "app_users", ["schema", "username"], unique=True)
    op.create_table("homes", _text("id", True), _text("schema"), _text("region"), _text("owner_uid"), _text("name"),
                    _text("geo_name"), _text("lon"), _text("lat"), _ms("created_ms"))
    op.create_table("home_members", _text("home_id", True), _text("uid", True), _text("role"), _text("name"),
                    _ms("created_ms"))
    op.create_index("ix_home_members_uid", "home_members", ["uid", "home_id"])
    op.create_table("rooms", _text("id", True), _text("home_id"), _text("name"), _ms("created_ms"))
    op.create_index("ix_rooms_home", "rooms", ["home_id", "id"])
    op.create_table("room_devices", _text("device_id", True), _text("room_id"))
    op.create_index("ix_room_devices_room", "room_devices", ["room_id", "device_id"])
    op.create_table("pairing_tokens", _text("token", True), _text("access_id"), _text("region"), _text("uid"),
                    _text("secret"), _text("time_zone"), _ms("created_ms"), _ms("expires_ms"))
    op.create_table("pairing_devices", _text("token", True), _text("device_id", True))


def downgrade() -> None:
    for table in ("pairing_devices", "pairing_tokens", "room_devices", "rooms", "home_members", "homes", "app_users",
                  "app_links", "apps"):
        op.drop_table(table)
