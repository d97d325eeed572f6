"""Reports and alerts: the reporter service's tables (it is their only writer).

- report_schedules, report_branding: what each business receives, and its look;
- report_deliveries: one row per schedule and period (``delivery_key`` unique), leased by
  the replica that sends it;
- report_unsubscribes, report_bounces: addresses not to send to again;
- alert_settings, alerts, alert_reads, alert_deliveries: what changed, who read it, where
  it was sent.

None is readable by the reader role (tables.SECRET_TABLES: addresses, a webhook's secret).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    default = None if nullable else sa.func.now()
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def _business() -> sa.Column[object]:
    return sa.Column(
        "business_id",
        sa.BigInteger,
        sa.ForeignKey("businesses.id", ondelete="CASCADE"),
        nullable=False,
    )


def _business_key() -> sa.Column[object]:
    return sa.Column(
        "business_id",
        sa.BigInteger,
        sa.ForeignKey("businesses.id", ondelete="CASCADE"),
        primary_key=True,
    )


def _id() -> sa.Column[object]:
    return sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True)


def _schedule() -> sa.Column[object]:
    return sa.Column(
        "schedule_id",
        sa.BigInteger,
        sa.ForeignKey("report_schedules.id", ondelete="CASCADE"),
        nullable=False,
    )


def _alert() -> sa.Column[object]:
    return sa.Column(
        "alert_id", sa.BigInteger, sa.ForeignKey("alerts.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "report_schedules",
        _id(),
        _business(),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("recipients", ARRAY(sa.Text), nullable=False),
        sa.Column("include_csv", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("created_by", sa.Text, nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint("kind IN ('weekly', 'monthly')", name=op.f("ck_report_schedules_kind")),
    )
    op.create_index(None, "report_schedules", ["business_id", "id"])
    op.create_table(
        "report_branding",
        _business_key(),
        sa.Column("colour", sa.Text, nullable=False),
        sa.Column("logo", sa.LargeBinary, nullable=True),
        sa.Column("logo_media_type", sa.Text, nullable=True),
        _at("updated_at"),
    )
    op.create_table(
        "report_deliveries",
        _id(),
        _business(),
        _schedule(),
        sa.Column("delivery_key", sa.Text, nullable=False, unique=True),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        _at("next_attempt_at"),
        sa.Column("lease_owner", sa.Text, nullable=True),
        _at("lease_until", nullable=True),
        sa.Column("message_id", sa.Text, nullable=False),
        _at("created_at"),
        _at("finished_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'skipped', 'failed')",
            name=op.f("ck_report_deliveries_status"),
        ),
    )
    op.create_index(None, "report_deliveries", ["business_id", "schedule_id", "period_start"])
    op.create_index(
        None,
        "report_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "report_unsubscribes",
        _schedule(),
        sa.Column("email", sa.Text, nullable=False),
        _business(),
        _at("at"),
        sa.PrimaryKeyConstraint("schedule_id", "email"),
    )
    op.create_table(
        "report_bounces",
        _id(),
        _business(),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        _at("at"),
    )
    op.create_index(None, "report_bounces", ["business_id", "email"])
    op.create_table(
        "alert_settings",
        _business_key(),
        sa.Column("sensitivity", sa.Text, nullable=False, server_default=sa.text("'medium'")),
        sa.Column(
            "email_recipients", ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")
        ),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("webhook_secret", sa.Text, nullable=True),
        _at("updated_at"),
        sa.CheckConstraint(
            "sensitivity IN ('low', 'medium', 'high')", name=op.f("ck_alert_settings_sensitivity")
        ),
    )
    op.create_table(
        "alerts",
        _id(),
        _business(),
        sa.Column("alert_key", sa.Text, nullable=False, unique=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("metric", sa.Text, nullable=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("sentence", sa.Text, nullable=False),
        sa.Column("link", sa.Text, nullable=False),
        sa.Column("numbers", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        _at("created_at"),
        sa.CheckConstraint("kind IN ('anomaly', 'reconnection')", name=op.f("ck_alerts_kind")),
    )
    op.create_index(None, "alerts", ["business_id", "id"])
    op.create_table(
        "alert_reads",
        _alert(),
        sa.Column("user_id", sa.Text, nullable=False),
        _at("read_at"),
        sa.PrimaryKeyConstraint("alert_id", "user_id"),
    )
    op.create_table(
        "alert_deliveries",
        _alert(),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default=sa.text("'pending'")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("detail", sa.Text, nullable=True),
        _at("next_attempt_at"),
        _at("finished_at", nullable=True),
        sa.PrimaryKeyConstraint("alert_id", "channel"),
        sa.CheckConstraint(
            "channel IN ('email', 'webhook')", name=op.f("ck_alert_deliveries_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'skipped', 'failed')",
            name=op.f("ck_alert_deliveries_status"),
        ),
    )


def downgrade() -> None:
    for table in (
        "alert_deliveries",
        "alert_reads",
        "alerts",
        "alert_settings",
        "report_bounces",
        "report_unsubscribes",
        "report_deliveries",
        "report_branding",
        "report_schedules",
    ):
        op.drop_table(table)
