"""Null means not reported; what a post gathered before Pulse first saw it goes to its
publish day (issue 15, items 3, 4 and 9).

analytics_summaries: per row, how many posts reported each metric that a platform may
leave out (``reported_likes`` .. ``reported_clicks``), so a reader tells a total of 0 from
a total no post reported; and what a click-through rate over the posts that report clicks
needs, exactly rolled up: their impressions (``ctr_impressions``), and the count and sum
of their per-post rates where they have impressions (``ctr_rated_posts``,
``click_through_rate_sum``). Existing rows are filled from the posts (days) and then
rolled up (all platforms, weeks, months, years) as pulse_shared.summaries does.

activity_daily: ``reach`` gained, the same ``reported_*`` counts per day, and
``attributed_posts``; its rows are rebuilt under the attribution rule (a post's first
snapshot also counts as a day-end of its local publish day when that is earlier than the
first snapshot's day). Downgrading rebuilds them under the old rule (0005's).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As they were when this revision was written (a migration never follows later code).
REPORTED = {
    "likes": "likes_count", "comments": "comments_count", "shares": "shares_count",
    "impressions": "impressions", "reach": "reach", "clicks": "clicks",
}  # fmt: skip
SUMMARY_COLUMNS = (
    *(f"reported_{name}" for name in REPORTED), "ctr_impressions", "ctr_rated_posts",
)  # fmt: skip
FLOAT_COLUMNS = ("click_through_rate_sum",)
ACTIVITY_COLUMNS = ("reach", "attributed_posts", *(f"reported_{name}" for name in REPORTED))

_counts = ", ".join(f"count(a.{col}) AS reported_{name}" for name, col in REPORTED.items())
_ctr = "a.clicks IS NOT NULL AND COALESCE(a.impressions, 0) > 0"
FILL_DAYS = f"""
UPDATE analytics_summaries s
SET {", ".join(f"{c} = x.{c}" for c in (*SUMMARY_COLUMNS, *FLOAT_COLUMNS))}
FROM (
    SELECT p.business_id, p.platform, (p.published_at AT TIME ZONE b.timezone)::date AS day,
           {_counts},
           COALESCE(sum(a.impressions) FILTER (WHERE a.clicks IS NOT NULL), 0)
               AS ctr_impressions,
           count(*) FILTER (WHERE {_ctr}) AS ctr_rated_posts,
           COALESCE(sum(a.click_through_rate) FILTER (WHERE {_ctr}), 0)
               AS click_through_rate_sum
    FROM published_posts p
    JOIN businesses b ON b.id = p.business_id
    LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id
    GROUP BY 1, 2, 3
) x
WHERE s.business_id = x.business_id AND s.platform = x.platform
  AND s.period_type = 'daily' AND s.period_start = x.day
"""  # noqa: S608 - our own constants only

_sums = ", ".join(
    [f"sum(d.{c})::bigint AS {c}" for c in SUMMARY_COLUMNS]
    + [f"sum(d.{c}) AS {c}" for c in FLOAT_COLUMNS]
)
_set = ", ".join(f"{c} = x.{c}" for c in (*SUMMARY_COLUMNS, *FLOAT_COLUMNS))


def _roll_up(target: str, source: str, period: str, all_platforms: bool) -> str:
    """Fill ``target`` rows from the ``source`` rows inside them."""
    platform = "'all'" if all_platforms else "d.platform"
    where = "d.platform <> 'all'" if all_platforms else "true"
    return f"""
UPDATE analytics_summaries s SET {_set}
FROM (
    SELECT d.business_id, {platform} AS platform,
           date_trunc('{period}', d.period_start::timestamp)::date AS period_start, {_sums}
    FROM analytics_summaries d
    WHERE d.period_type = '{source}' AND {where}
    GROUP BY 1, 2, 3
) x
WHERE s.business_id = x.business_id AND s.platform = x.platform
  AND s.period_type = '{target}' AND s.period_start = x.period_start
"""  # noqa: S608 - our own constants only


ROLL_UPS = (
    _roll_up("daily", "daily", "day", all_platforms=True),
    _roll_up("weekly", "daily", "week", all_platforms=False),
    _roll_up("monthly", "daily", "month", all_platforms=False),
    _roll_up("yearly", "monthly", "year", all_platforms=False),
)

# activity_daily under the attribution rule, as pulse_shared.summaries.REBUILD_ACTIVITY
# made it when this revision was written (for every business).
_values = ", ".join(
    [f"COALESCE({{a}}.{col}, 0) AS {name}" for name, col in REPORTED.items()]
    + [f"({{a}}.{col} IS NOT NULL)::int AS reported_{name}" for name, col in REPORTED.items()]
)
_gains = ", ".join(
    [f"e.{name} - COALESCE(lag(e.{name}) OVER w, 0) AS {name}" for name in REPORTED]
    + [f"e.reported_{name}" for name in REPORTED]
)
_activity_sums = ", ".join(
    [f"sum(g.{name})::bigint" for name in REPORTED]
    + [f"sum(g.reported_{name})::bigint" for name in REPORTED]
)
REBUILD_ACTIVITY = f"""
INSERT INTO activity_daily (business_id, platform, day, active_posts, attributed_posts,
    {", ".join(REPORTED)}, {", ".join(f"reported_{name}" for name in REPORTED)})
SELECT g.business_id, g.platform, g.day, count(*) - sum(g.attributed), sum(g.attributed),
       {_activity_sums}
FROM (
    SELECT e.business_id, e.platform, e.day, e.attributed, {_gains}
    FROM (
        (SELECT DISTINCT ON (s.business_id, s.platform, s.platform_post_id, day)
                s.business_id, s.platform, s.platform_post_id,
                (s.observed_at AT TIME ZONE b.timezone)::date AS day, 0 AS attributed,
                {_values.format(a="s")}
         FROM businesses b JOIN post_metric_snapshots s ON s.business_id = b.id
         ORDER BY s.business_id, s.platform, s.platform_post_id, day, s.observed_at DESC)
        UNION ALL
        SELECT f.business_id, f.platform, f.platform_post_id,
               (p.published_at AT TIME ZONE f.timezone)::date, 1, {_values.format(a="f")}
        FROM (
            SELECT DISTINCT ON (s.business_id, s.platform, s.platform_post_id) s.*, b.timezone
            FROM businesses b JOIN post_metric_snapshots s ON s.business_id = b.id
            ORDER BY s.business_id, s.platform, s.platform_post_id, s.observed_at
        ) f
        JOIN published_posts p USING (business_id, platform, platform_post_id)
        WHERE (p.published_at AT TIME ZONE f.timezone)::date
              < (f.observed_at AT TIME ZONE f.timezone)::date
    ) e
    WINDOW w AS (PARTITION BY e.business_id, e.platform, e.platform_post_id ORDER BY e.day)
) g
GROUP BY g.business_id, g.platform, g.day
"""  # noqa: S608 - our own constants only

# activity_daily as 0005 made it (no attribution), for the downgrade.
OLD_ACTIVITY = """
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
        ORDER BY s.business_id, s.platform, s.platform_post_id, day, s.observed_at DESC
    ) e
    WINDOW w AS (PARTITION BY e.business_id, e.platform, e.platform_post_id ORDER BY e.day)
) g
GROUP BY g.business_id, g.platform, g.day
"""


def upgrade() -> None:
    zero = sa.text("0")
    for name in SUMMARY_COLUMNS:
        op.add_column(
            "analytics_summaries",
            sa.Column(name, sa.BigInteger, server_default=zero, nullable=False),
        )
    for name in FLOAT_COLUMNS:
        op.add_column(
            "analytics_summaries", sa.Column(name, sa.Double, server_default=zero, nullable=False)
        )
    for name in ACTIVITY_COLUMNS:
        op.add_column(
            "activity_daily", sa.Column(name, sa.BigInteger, server_default=zero, nullable=False)
        )
    op.execute(FILL_DAYS)
    for statement in ROLL_UPS:
        op.execute(statement)
    op.execute("DELETE FROM activity_daily")
    op.execute(REBUILD_ACTIVITY)


def downgrade() -> None:
    op.execute("DELETE FROM activity_daily")
    for name in reversed(ACTIVITY_COLUMNS):
        op.drop_column("activity_daily", name)
    op.execute(OLD_ACTIVITY)
    for name in reversed((*SUMMARY_COLUMNS, *FLOAT_COLUMNS)):
        op.drop_column("analytics_summaries", name)
