"""Connected accounts through OAuth: their lifecycle, refresh tokens, and what a reader sees.

- connected_accounts: a refresh token (encrypted like the access token), both tokens'
  expiry, the account's name on the platform, who connected it, the sync's progress
  (posts found, last synced); statuses syncing, active, needs_reconnection, disconnected
  (its tokens deleted, its row and the business's numbers kept). An account is connected
  to one business at a time: (platform, account_id) is unique among the accounts that are
  not disconnected.
- published_posts.removed_at: the post is gone from the platform (posts.removed.v1); its
  history stays.
- account_connections: a view of connected_accounts without any token column, for the
  reader role, showing only the business its transaction set (pulse.business_id), as the
  row-level security of 0008 does for the analytics tables (a view reads as its owner,
  so it carries the filter itself).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "'syncing', 'active', 'needs_reconnection', 'disconnected'"
OLD_STATUSES = "'active', 'needs_reconnection'"


def upgrade() -> None:
    op.alter_column("connected_accounts", "encrypted_token", nullable=True)
    for column in (
        sa.Column("encrypted_refresh_token", sa.LargeBinary, nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refresh_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("display_name", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("connected_by", sa.Text, nullable=True),
        sa.Column("posts_found", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column("connected_accounts", column)
    op.drop_constraint("ck_connected_accounts_status", "connected_accounts")
    op.create_check_constraint(
        "ck_connected_accounts_status", "connected_accounts", f"status IN ({STATUSES})"
    )
    # A disconnected account holds no token: nothing to poll, nothing to leak.
    op.create_check_constraint(
        "ck_connected_accounts_disconnected_without_tokens",
        "connected_accounts",
        "status <> 'disconnected' OR (encrypted_token IS NULL AND encrypted_refresh_token IS NULL)",
    )
    op.create_check_constraint(
        "ck_connected_accounts_token_unless_disconnected",
        "connected_accounts",
        "status = 'disconnected' OR encrypted_token IS NOT NULL",
    )
    op.create_index(
        "uq_connected_accounts_platform_account_id_connected",
        "connected_accounts",
        ["platform", "account_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'disconnected'"),
    )
    # The token refresher's scan: the accounts whose token expires soonest.
    op.create_index(
        "ix_connected_accounts_platform_token_expires_at",
        "connected_accounts",
        ["platform", "token_expires_at"],
        postgresql_where=sa.text("token_expires_at IS NOT NULL"),
    )
    op.add_column(
        "published_posts", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        """
        CREATE VIEW account_connections WITH (security_barrier) AS
        SELECT business_id, platform, account_id, display_name, status, status_reason,
               posts_found, last_synced_at, created_at AS connected_at, updated_at
        FROM connected_accounts
        WHERE business_id = NULLIF(current_setting('pulse.business_id', true), '')::bigint
        """
    )


def downgrade() -> None:
    op.execute("DROP VIEW account_connections")
    op.drop_column("published_posts", "removed_at")
    op.drop_index("ix_connected_accounts_platform_token_expires_at", "connected_accounts")
    op.drop_index("uq_connected_accounts_platform_account_id_connected", "connected_accounts")
    op.drop_constraint("ck_connected_accounts_token_unless_disconnected", "connected_accounts")
    op.drop_constraint("ck_connected_accounts_disconnected_without_tokens", "connected_accounts")
    op.execute("DELETE FROM connected_accounts WHERE status IN ('syncing', 'disconnected')")
    op.drop_constraint("ck_connected_accounts_status", "connected_accounts")
    op.create_check_constraint(
        "ck_connected_accounts_status", "connected_accounts", f"status IN ({OLD_STATUSES})"
    )
    for name in (
        "last_synced_at", "posts_found", "connected_by", "display_name",
        "refresh_expires_at", "token_expires_at", "encrypted_refresh_token",
    ):  # fmt: skip
        op.drop_column("connected_accounts", name)
    op.alter_column("connected_accounts", "encrypted_token", nullable=False)
