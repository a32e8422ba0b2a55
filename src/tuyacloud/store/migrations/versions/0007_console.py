"""Console: accounts, server-side sessions and the login lock-out counters.

Revision ID: 0007_console
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_console"
down_revision = "0006"
branch_labels = None
depends_on = None


def _text(name: str, primary_key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), primary_key=primary_key, nullable=False)


def _ms(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table("console_accounts", _text("username", True), _text("password_hash"), _ms("created_ms"),
                    _ms("updated_ms"))
    op.create_table("console_sessions", _text("token_hash", True), _text("username"), _text("csrf_token"),
                    _ms("created_ms"), _ms("expires_ms"))
    op.create_index("ix_console_sessions_user", "console_sessions", ["username"])
    op.create_table("console_login_failures", _text("key", True),
                    sa.Column("failures", sa.Integer(), nullable=False), _ms("first_ms"), _ms("locked_until_ms"))


def downgrade() -> None:
    op.drop_table("console_login_failures")
    op.drop_index("ix_console_sessions_user", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_accounts")
