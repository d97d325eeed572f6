"""A post as every answer reads it: one select-list (``POST_COLUMNS``, in the API's names)
over the post and its latest numbers (``POSTS_WITH_NUMBERS``), and one function turning
such a row into the API's fields (``post_fields``). Top posts, the export and a post's own
page read posts through these alone, so a post looks the same wherever it appears; the
post's page adds its own rates and history (``post_detail_fields``, ``snapshot_fields``).
Pure: the statements that read with them are the routes' and queries.py's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulse_shared import formulas
from pulse_shared.tables import METRIC_COLUMNS

# A row read by column name: SQLAlchemy's RowMapping (keyed by names or columns) or a dict.
Row = Mapping[Any, Any]

# A post (p) beside its latest numbers (a); a post not polled yet has none: nulls.
POSTS_WITH_NUMBERS = (
    "published_posts p\n"
    "LEFT JOIN post_analytics a ON a.business_id = p.business_id AND a.post_id = p.id"
)

# likes + comments + shares (a null counting as 0), null when none of the three is reported.
ENGAGEMENT = (
    "CASE WHEN num_nonnulls(a.likes_count, a.comments_count, a.shares_count) > 0 THEN "
    f"{formulas.sql_engagement('a.likes_count', 'a.comments_count', 'a.shares_count')} END"
)
# When a post has each rate (the aggregator stores 0 without one): a rate exists over
# impressions only, and the click-through rate over reported clicks only.
RATE_EXISTS = {
    "engagement_rate": "a.impressions > 0",
    "click_through_rate": "a.impressions > 0 AND a.clicks IS NOT NULL",
}


def metrics_as_api_names(table: str) -> str:
    """The metric columns of ``table`` (an alias of post_analytics or of
    post_metric_snapshots, which share them), each named as the API names it."""
    return ", ".join(f"{table}.{column} AS {name}" for name, column in METRIC_COLUMNS.items())


# Each rate where the post has it, else null.
RATES = ", ".join(
    f"CASE WHEN {exists} THEN a.{rate} END AS {rate}" for rate, exists in RATE_EXISTS.items()
)
# The post's own columns, its latest numbers and what they give, in the API's names.
POST_COLUMNS = ", ".join(
    [
        "p.id AS post_id", "p.business_id", "p.platform", "p.platform_post_id",
        "p.platform_post_url", "p.published_at", "p.content_type", "p.content_preview",
        "p.thumbnail_url", "p.removed_at", metrics_as_api_names("a"),
        f"{ENGAGEMENT} AS engagement", RATES, "a.fetched_at",
    ]
)  # fmt: skip


def post_fields(row: Row) -> dict[str, Any]:
    """A row read with POST_COLUMNS (and whatever a query adds beside them) in the API's
    shape: the rates rounded at the edge, to 2 decimals, null where the post has none."""
    post = dict(row)
    for rate in RATE_EXISTS:
        post[rate] = formulas.round2(post[rate])
    return post


def post_detail_fields(row: Row) -> dict[str, Any]:
    """A post's row with its video's length (``video_duration_s``) in the shape of the
    post's own page: the post as every answer shapes it (post_fields), with what only that
    page gives."""
    post = post_fields(row)
    impressions, shares = post["impressions"], post["shares"]
    virality = None if shares is None else formulas.virality(shares, impressions)
    return {
        **post,
        # The page's contract: engagement is never null (0 where none of likes, comments
        # and shares is reported), where a ranking says null.
        "engagement": post["engagement"] or 0,
        "virality": _over_impressions(virality, impressions),
        "video_completion": formulas.round2(
            formulas.video_completion(
                post["video_watch_time_s"], post["video_views"], post["video_duration_s"]
            )
        ),
    }


def snapshot_fields(snapshot: Row) -> dict[str, Any]:
    """One of a post's stored snapshots (its metrics in API names) in the API's shape, with
    the engagement it counted and its rate."""
    likes, comments, shares = snapshot["likes"], snapshot["comments"], snapshot["shares"]
    impressions = snapshot["impressions"]
    return {
        **snapshot,
        "engagement": formulas.engagement(likes, comments, shares),
        "engagement_rate": _over_impressions(
            formulas.engagement_rate(likes, comments, shares, impressions), impressions
        ),
    }


def _over_impressions(rate: float | None, impressions: int | None) -> float | None:
    """A rate, rounded; null without impressions, over which it would read 0."""
    return formulas.round2(rate) if impressions else None
