"""Initial schema: every table of DESIGN.md, with snapshots partitioned by month.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLATFORMS = "'linkedin', 'twitter', 'facebook', 'instagram'"
CONTENT_TYPES = "'text', 'image', 'video', 'link', 'carousel'"
METRICS = [
    ("likes_count", sa.BigInteger),
    ("comments_count", sa.BigInteger),
    ("shares_count", sa.BigInteger),
    ("reactions_count", sa.BigInteger),
    ("retweets_count", sa.BigInteger),
    ("quote_tweets_count", sa.BigInteger),
    ("saves_count", sa.BigInteger),
    ("impressions", sa.BigInteger),
    ("reach", sa.BigInteger),
    ("clicks", sa.BigInteger),
    ("video_views", sa.BigInteger),
    ("video_watch_time_s", sa.Double),
]


def _metrics(table: str) -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column(
            name,
            kind,
            sa.CheckConstraint(f"{name} >= 0", name=op.f(f"ck_{table}_{name}_non_negative")),
            nullable=True,
        )
        for name, kind in METRICS
    ]


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "businesses",
        sa.Column("id", sa.BigInteger, autoincrement=False, nullable=False),
        sa.Column("name", sa.Text, nullable=True),
        sa.Column("timezone", sa.Text, server_default=sa.text("'UTC'"), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("id > 0", name=op.f("ck_businesses_positive_id")),
        sa.PrimaryKeyConstraint("id", name="pk_businesses"),
    )
    op.create_table(
        "business_members",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.Text, nullable=False),
        sa.Column("role", sa.Text, server_default=sa.text("'member'"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            ondelete="CASCADE",
            name="fk_business_members_business_id_businesses",
        ),
        sa.PrimaryKeyConstraint("business_id", "user_id", name="pk_business_members"),
    )
    op.create_index("ix_business_members_user_id", "business_members", ["user_id"])

    op.create_table(
        "published_posts",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("id", sa.BigInteger, sa.Identity(always=False), nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("platform_post_id", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("content_preview", sa.Text, server_default=sa.text("''"), nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform_post_url", sa.Text, nullable=True),
        sa.Column("video_duration_s", sa.Double, nullable=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_published_posts_business_id_businesses"
        ),
        sa.PrimaryKeyConstraint("business_id", "id", name="pk_published_posts"),
        sa.UniqueConstraint(
            "business_id",
            "platform",
            "platform_post_id",
            name="uq_published_posts_business_id_platform_platform_post_id",
        ),
        sa.CheckConstraint(f"platform IN ({PLATFORMS})", name=op.f("ck_published_posts_platform")),
        sa.CheckConstraint(
            f"content_type IN ({CONTENT_TYPES})", name=op.f("ck_published_posts_content_type")
        ),
    )
    op.create_index(
        "ix_published_posts_business_id_published_at",
        "published_posts",
        ["business_id", "published_at"],
    )
    op.create_index("ix_published_posts_id", "published_posts", ["id"])

    op.create_table(
        "post_analytics",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("post_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("platform_post_id", sa.Text, nullable=False),
        sa.Column("platform_post_url", sa.Text, nullable=True),
        *_metrics("post_analytics"),
        sa.Column("engagement_rate", sa.Double, server_default=sa.text("0"), nullable=False),
        sa.Column("click_through_rate", sa.Double, server_default=sa.text("0"), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["business_id", "post_id"],
            ["published_posts.business_id", "published_posts.id"],
            ondelete="CASCADE",
            name="fk_post_analytics_business_id_post_id_published_posts",
        ),
        sa.PrimaryKeyConstraint("business_id", "post_id", name="pk_post_analytics"),
        sa.UniqueConstraint(
            "business_id",
            "platform",
            "platform_post_id",
            name="uq_post_analytics_business_id_platform_platform_post_id",
        ),
    )
    op.create_index(
        "ix_post_analytics_business_id_engagement_rate",
        "post_analytics",
        ["business_id", "engagement_rate"],
    )

    op.create_table(
        "post_metric_snapshots",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("platform_post_id", sa.Text, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        *_metrics("post_metric_snapshots"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "business_id",
            "platform",
            "platform_post_id",
            "observed_at",
            name="pk_post_metric_snapshots",
        ),
        postgresql_partition_by="RANGE (observed_at)",
    )
    op.create_index(
        "ix_post_metric_snapshots_business_id_observed_at",
        "post_metric_snapshots",
        ["business_id", "observed_at"],
    )
    # Monthly partitions, made on demand by the writer before it inserts a batch.
    # The advisory lock makes two writers creating the same month wait for each other
    # instead of failing on a duplicate relation.
    op.execute(
        """
        CREATE FUNCTION pulse_ensure_snapshot_partitions(first_at timestamptz, last_at timestamptz)
        RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            month_start date := date_trunc('month', first_at AT TIME ZONE 'UTC')::date;
            last_month date := date_trunc('month', last_at AT TIME ZONE 'UTC')::date;
            part text;
        BEGIN
            WHILE month_start <= last_month LOOP
                part := format('post_metric_snapshots_y%sm%s',
                               to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
                IF to_regclass(part) IS NULL THEN
                    PERFORM pg_advisory_xact_lock(hashtext(part));
                    EXECUTE format(
                        'CREATE TABLE IF NOT EXISTS %I PARTITION OF post_metric_snapshots '
                        'FOR VALUES FROM (%L) TO (%L)',
                        part,
                        (month_start::timestamp AT TIME ZONE 'UTC'),
                        ((month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
                END IF;
                month_start := (month_start + interval '1 month')::date;
            END LOOP;
        END $$
        """
    )
    op.execute(
        "REVOKE EXECUTE ON FUNCTION pulse_ensure_snapshot_partitions(timestamptz, timestamptz) "
        "FROM PUBLIC"
    )

    op.create_table(
        "account_snapshots",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "followers",
            sa.BigInteger,
            sa.CheckConstraint(
                "followers >= 0", name=op.f("ck_account_snapshots_followers_non_negative")
            ),
            nullable=False,
        ),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint(
            "business_id", "platform", "account_id", "observed_at", name="pk_account_snapshots"
        ),
    )
    op.create_index(
        "ix_account_snapshots_business_id_observed_at",
        "account_snapshots",
        ["business_id", "observed_at"],
    )

    op.create_table(
        "analytics_summaries",
        sa.Column("business_id", sa.BigInteger, nullable=False),
        sa.Column("platform", sa.Text, nullable=False),
        sa.Column("period_type", sa.Text, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        *[
            sa.Column(name, sa.BigInteger, server_default=sa.text("0"), nullable=False)
            for name in (
                "total_posts",
                "total_likes",
                "total_comments",
                "total_shares",
                "total_impressions",
                "total_reach",
                "total_clicks",
            )
        ],
        sa.Column("avg_engagement_rate", sa.Double, server_default=sa.text("0"), nullable=False),
        sa.Column("engagement_rate", sa.Double, server_default=sa.text("0"), nullable=False),
        sa.Column("avg_impressions", sa.Double, server_default=sa.text("0"), nullable=False),
        sa.Column("follower_growth", sa.BigInteger, nullable=True),
        sa.Column("best_post_id", sa.BigInteger, nullable=True),
        sa.Column("best_post_engagement_rate", sa.Double, nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint(
            "business_id", "platform", "period_type", "period_start", name="pk_analytics_summaries"
        ),
        sa.CheckConstraint(
            f"platform IN ({PLATFORMS}, 'all')", name=op.f("ck_analytics_summaries_platform")
        ),
        sa.CheckConstraint(
            "period_type IN ('daily', 'weekly', 'monthly', 'yearly')",
            name=op.f("ck_analytics_summaries_period_type"),
        ),
    )


def downgrade() -> None:
    op.drop_table("analytics_summaries")
    op.drop_table("account_snapshots")
    op.execute("DROP FUNCTION pulse_ensure_snapshot_partitions(timestamptz, timestamptz)")
    op.drop_table("post_metric_snapshots")
    op.drop_table("post_analytics")
    op.drop_table("published_posts")
    op.drop_table("business_members")
    op.drop_table("businesses")
