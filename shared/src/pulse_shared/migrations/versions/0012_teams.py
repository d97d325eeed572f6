"""Teams: roles, the people who signed in, invites, personal API tokens, the audit log.

- business_members.role is one of owner, admin, analyst, viewer (pulse_shared.roles), and
  always given: a membership written before roles existed could do everything, so it
  becomes owner.
- users, invites, api_tokens, audit_log: written by the workspace service only; the reader
  role reads none of them (tables.SECRET_TABLES).
- business_ids: the ids of businesses created by onboarding (a business first named by an
  event keeps the id the event gave it), started past every id in use.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "'owner', 'admin', 'analyst', 'viewer'"


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    default = None if nullable else sa.func.now()
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def _business() -> sa.Column[object]:
    return sa.Column(
        "business_id",
        sa.BigInteger,
        sa.ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.execute("UPDATE business_members SET role = 'owner' WHERE role = 'member'")
    op.alter_column("business_members", "role", server_default=None)
    op.create_check_constraint(
        op.f("ck_business_members_role"), "business_members", f"role IN ({ROLES})"
    )

    op.create_table(
        "users",
        sa.Column("user_id", sa.Text, primary_key=True),
        sa.Column("email", sa.Text, nullable=True),
        sa.Column("name", sa.Text, nullable=True),
        _timestamp("created_at"),
        _timestamp("last_seen_at"),
    )
    op.create_index("ix_users_email_lower", "users", [sa.text("lower(email)")])

    op.create_table(
        "invites",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        _business(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary, nullable=False, unique=True),
        sa.Column("invited_by", sa.Text, nullable=False),
        _timestamp("created_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _timestamp("accepted_at", nullable=True),
        sa.Column("accepted_by", sa.Text, nullable=True),
        _timestamp("revoked_at", nullable=True),
        sa.CheckConstraint(f"role IN ({ROLES})", name="role"),
        sa.CheckConstraint("email = lower(email)", name="email_lower"),
    )
    op.create_index(None, "invites", ["business_id", "created_at"])

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        _business(),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("secret_sha256", sa.LargeBinary, nullable=False, unique=True),
        _timestamp("created_at"),
        _timestamp("expires_at", nullable=True),
        _timestamp("last_used_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
    )
    op.create_index(None, "api_tokens", ["business_id", "user_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
        _business(),
        _timestamp("at"),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=True),
        sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_index(None, "audit_log", ["business_id", "id"])

    op.execute(
        "CREATE SEQUENCE business_ids AS bigint START WITH 1 MINVALUE 1 OWNED BY businesses.id"
    )
    op.execute(
        "SELECT setval('business_ids', (SELECT coalesce(max(id), 0) + 1 FROM businesses), false)"
    )


def downgrade() -> None:
    op.execute("DROP SEQUENCE business_ids")
    for table in ("audit_log", "api_tokens", "invites", "users"):
        op.drop_table(table)
    op.drop_constraint(op.f("ck_business_members_role"), "business_members")
    op.alter_column("business_members", "role", server_default=sa.text("'member'"))
    op.execute("UPDATE business_members SET role = 'member'")
