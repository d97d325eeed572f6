"""Indexes shaped by the aggregator's hot paths.

- published_posts (business_id, platform, published_at): the summary refresh reads the
  posts of one business, platform and local day; with only (business_id, published_at)
  or the (business_id, platform, platform_post_id) key PostgreSQL read every post of the
  business and platform for each day it recomputed.
- post_analytics loses its (business_id, engagement_rate) index and gets a fill factor:
  every snapshot rewrites a post's rates, and with no indexed column changing the update
  is HOT (no index entries written). Top posts are ranked among a period's posts, which
  the published_posts indexes find.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_published_posts_business_id_platform_published_at",
        "published_posts",
        ["business_id", "platform", "published_at"],
    )
    op.drop_index("ix_post_analytics_business_id_engagement_rate", table_name="post_analytics")
    op.execute("ALTER TABLE post_analytics SET (fillfactor = 70)")


def downgrade() -> None:
    op.execute("ALTER TABLE post_analytics RESET (fillfactor)")
    op.create_index(
        "ix_post_analytics_business_id_engagement_rate",
        "post_analytics",
        ["business_id", "engagement_rate"],
    )
    op.drop_index(
        "ix_published_posts_business_id_platform_published_at", table_name="published_posts"
    )
