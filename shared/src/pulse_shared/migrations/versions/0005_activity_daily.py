"""activity_daily: what the posts gained on each local day, kept by the summary refresh.

Activity-day trends used to be computed from the snapshots at query time, which costs
seconds for a business with thousands of posts; the summary refresh now keeps one row
per business, platform and local day. Every stored snapshot is queued once, so the
aggregator fills the table for existing data when it starts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As they were when this revision was written (a migration never follows later code).
PLATFORMS = "'linkedin', 'twitter', 'facebook', 'instagram'"


def upgrade() -> None:
    op.create_table(
        "activity_daily",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("active_posts", sa.BigInteger, nullable=False),
        sa.Column("likes", sa.BigInteger, nullable=False),
        sa.Column("comments", sa.BigInteger, nullable=False),
        sa.Column("shares", sa.BigInteger, nullable=False),
        sa.Column("impressions", sa.BigInteger, nullable=False),
        sa.Column("clicks", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("business_id", "platform", "day", name=op.f("pk_activity_daily")),
        sa.CheckConstraint(f"platform IN ({PLATFORMS})", name=op.f("ck_activity_daily_platform")),
    )
    # One moment per business, platform and quarter hour is enough: every time zone's offset is a
    # whole number of quarter hours, so a quarter hour never straddles a local midnight.
    op.execute(
        """
        INSERT INTO summary_pending_moments (business_id, platform, at)
        SELECT DISTINCT business_id, platform,
               to_timestamp(floor(extract(epoch FROM observed_at) / 900) * 900)
        FROM post_metric_snapshots
        """
    )


def downgrade() -> None:
    op.drop_table("activity_daily")
