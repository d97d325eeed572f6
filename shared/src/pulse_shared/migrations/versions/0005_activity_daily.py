"""activity_daily: what the posts gained on each local day, kept by the aggregator.

Activity-day trends used to be computed from the snapshots at query time, which costs
seconds for a business with thousands of posts; the aggregator now keeps one row per
business, platform and local day, adding each batch's change in the batch's transaction.
Rows for the snapshots already stored are computed here.

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
    # Existing snapshots: the same rows as pulse_shared.summaries.REBUILD_ACTIVITY (kept
    # here as it was, a migration never follows later code).
    op.execute(
        """
        INSERT INTO activity_daily (business_id, platform, day, active_posts, likes, comments,
                                    shares, impressions, clicks)
        SELECT g.business_id, g.platform, g.day, count(*), sum(g.likes), sum(g.comments),
               sum(g.shares), sum(g.impressions), sum(g.clicks)
        FROM (
            SELECT e.business_id, e.platform, e.day,
                   e.likes - COALESCE(lag(e.likes) OVER w, 0) AS likes,
                   e.comments - COALESCE(lag(e.comments) OVER w, 0) AS comments,
                   e.shares - COALESCE(lag(e.shares) OVER w, 0) AS shares,
                   e.impressions - COALESCE(lag(e.impressions) OVER w, 0) AS impressions,
                   e.clicks - COALESCE(lag(e.clicks) OVER w, 0) AS clicks
            FROM (
                SELECT DISTINCT ON (s.business_id, s.platform, s.platform_post_id, day)
                       s.business_id, s.platform, s.platform_post_id,
                       (s.observed_at AT TIME ZONE b.timezone)::date AS day,
                       COALESCE(s.likes_count, 0) AS likes,
                       COALESCE(s.comments_count, 0) AS comments,
                       COALESCE(s.shares_count, 0) AS shares,
                       COALESCE(s.impressions, 0) AS impressions,
                       COALESCE(s.clicks, 0) AS clicks
                FROM businesses b JOIN post_metric_snapshots s ON s.business_id = b.id
                ORDER BY s.business_id, s.platform, s.platform_post_id, day,
                         s.observed_at DESC
            ) e
            WINDOW w AS (PARTITION BY e.business_id, e.platform, e.platform_post_id
                         ORDER BY e.day)
        ) g
        GROUP BY g.business_id, g.platform, g.day
        """
    )


def downgrade() -> None:
    op.drop_table("activity_daily")
