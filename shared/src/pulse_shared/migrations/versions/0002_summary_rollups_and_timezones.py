"""Summaries keep what exact roll-ups need; a business's time zone must be a real zone.

``rated_posts`` (posts with impressions) and ``engagement_rate_sum`` (the sum of their
per-post rates) make ``avg_engagement_rate`` of a week, month or year derivable exactly
from its days, so coarser periods are rolled up instead of re-read from every post.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "analytics_summaries",
        sa.Column("rated_posts", sa.BigInteger, server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "analytics_summaries",
        sa.Column("engagement_rate_sum", sa.Double, server_default=sa.text("0"), nullable=False),
    )
    # A zone PostgreSQL does not know would make every period computation fail later;
    # refuse it when it is written instead.
    op.execute(
        """
        CREATE FUNCTION pulse_check_timezone() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Converting a time stamp is how PostgreSQL itself resolves a zone name
            -- (cached after the first use); pg_timezone_names would scan ~1,200 rows.
            PERFORM now() AT TIME ZONE NEW.timezone;
            RETURN NEW;
        EXCEPTION WHEN invalid_parameter_value THEN
            RAISE EXCEPTION 'unknown time zone: %', NEW.timezone
                USING ERRCODE = 'invalid_parameter_value';
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER businesses_timezone_valid BEFORE INSERT OR UPDATE OF timezone "
        "ON businesses FOR EACH ROW EXECUTE FUNCTION pulse_check_timezone()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER businesses_timezone_valid ON businesses")
    op.execute("DROP FUNCTION pulse_check_timezone()")
    op.drop_column("analytics_summaries", "engagement_rate_sum")
    op.drop_column("analytics_summaries", "rated_posts")
