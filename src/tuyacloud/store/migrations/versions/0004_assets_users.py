"""Custom projects: the asset tree, project users and their authorisations on assets.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assets",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("access_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("parent_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("asset_type", sa.Text(), nullable=False, server_default=""),
        sa.Column("image", sa.Text(), nullable=False, server_default=""),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("is_root", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_assets_parent", "assets", ["access_id", "region", "parent_id", "id"])
    op.create_table(
        "project_users",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("access_id", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("country_code", sa.Text(), nullable=False, server_default=""),
        sa.Column("nick_name", sa.Text(), nullable=False, server_default=""),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("creator", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ux_project_users_name", "project_users", ["access_id", "region", "username"], unique=True)
    op.create_table(
        "asset_grants",
        sa.Column("access_id", sa.Text(), primary_key=True),
        sa.Column("region", sa.Text(), primary_key=True),
        sa.Column("uid", sa.Text(), primary_key=True),
        sa.Column("asset_id", sa.Text(), primary_key=True),
        sa.Column("with_children", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_asset_grants_asset", "asset_grants", ["access_id", "region", "asset_id", "uid"])


def downgrade() -> None:
    op.drop_index("ix_asset_grants_asset", "asset_grants")
    op.drop_table("asset_grants")
    op.drop_index("ux_project_users_name", "project_users")
    op.drop_table("project_users")
    op.drop_index("ix_assets_parent", "assets")
    op.drop_table("assets")
