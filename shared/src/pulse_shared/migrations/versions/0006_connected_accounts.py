"""connected_accounts: the platform accounts a business connected, tokens encrypted.

The ingest services poll each account with its access token; the token is stored
encrypted with Fernet (pulse_shared.ingest.vault), and no role but the owner may read
the table: the reader role that query-api connects as gets nothing here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As they were when this revision was written (a migration never follows later code).
PLATFORMS = "'linkedin', 'twitter', 'facebook', 'instagram'"
STATUSES = "'active', 'needs_reconnection'"


def upgrade() -> None:
    op.create_table(
        "connected_accounts",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("encrypted_token", sa.LargeBinary, nullable=False),
        sa.Column("token_kind", sa.Text, nullable=False, server_default=sa.text("'user'")),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'active'")),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint(
            "business_id", "platform", "account_id", name=op.f("pk_connected_accounts")
        ),
        sa.CheckConstraint(
            f"platform IN ({PLATFORMS})", name=op.f("ck_connected_accounts_platform")
        ),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_connected_accounts_status")),
    )
    op.create_index(
        "ix_connected_accounts_platform_status", "connected_accounts", ["platform", "status"]
    )
    # The default privileges give the reader role SELECT on every new table: take every
    # privilege on this one back from every role but its owner (and from PUBLIC). The
    # migration environment keeps it so after its own grants (tables.SECRET_TABLES).
    op.execute(
        """
        DO $$
        DECLARE grantee_name text;
        BEGIN
          REVOKE ALL ON TABLE connected_accounts FROM PUBLIC;
          FOR grantee_name IN
            SELECT DISTINCT a.grantee::regrole::text
            FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.oid = 'connected_accounts'::regclass
              AND a.grantee <> c.relowner AND a.grantee <> 0
          LOOP
            EXECUTE format('REVOKE ALL ON TABLE connected_accounts FROM %s', grantee_name);
          END LOOP;
        END $$
        """
    )


def downgrade() -> None:
    op.drop_table("connected_accounts")
