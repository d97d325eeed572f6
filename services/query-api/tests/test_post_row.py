"""A post's row shaped for the API (pulse_query_api.post_row): pure, no I/O. The SQL side
(which rates a post has, its engagement) is held by the top-posts, posts and export tests
against a real PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pulse_query_api import post_row
from pulse_query_api.schemas import TopPostOut
from pulse_shared.tables import METRIC_COLUMNS

PUBLISHED = datetime(2026, 11, 6, 18, 30, tzinfo=UTC)


def row(**numbers: Any) -> dict[str, Any]:
    """A row as POST_COLUMNS reads it (a post never polled: every number null)."""
    return {
        "post_id": 7, "business_id": 1, "platform": "facebook", "platform_post_id": "p7",
        "platform_post_url": None, "published_at": PUBLISHED, "content_type": "video",
        "content_preview": "", "thumbnail_url": None, "removed_at": None,
        **dict.fromkeys(METRIC_COLUMNS), "engagement": None, "engagement_rate": None,
        "click_through_rate": None, "fetched_at": None, **numbers,
    }  # fmt: skip


def test_the_select_list_gives_every_field_of_a_ranked_post() -> None:
    for name in TopPostOut.model_fields:
        assert re.search(rf"(AS |[pa]\.){name}\b", post_row.POST_COLUMNS), name


def test_rates_are_rounded_half_away_from_zero_and_nulls_stay_null() -> None:
    shaped = post_row.post_fields(row(engagement_rate=3.335, click_through_rate=None))
    assert (shaped["engagement_rate"], shaped["click_through_rate"]) == (3.34, None)


def test_what_a_query_adds_beside_the_columns_is_kept() -> None:
    shaped = post_row.post_fields(row(date="2026-11-06", posts=1))
    assert (shaped["date"], shaped["posts"], shaped["post_id"]) == ("2026-11-06", 1, 7)


def test_a_post_page_counts_unreported_engagement_as_zero() -> None:
    detail = post_row.post_detail_fields(row(video_duration_s=None))
    assert detail["engagement"] == 0
    assert (detail["virality"], detail["video_completion"]) == (None, None)


def test_virality_needs_impressions_and_reported_shares() -> None:
    def virality(**numbers: Any) -> float | None:
        shaped = post_row.post_detail_fields(row(video_duration_s=None, **numbers))
        result: float | None = shaped["virality"]
        return result

    assert virality(shares=2, impressions=300) == 0.67
    assert virality(shares=None, impressions=300) is None
    assert virality(shares=2, impressions=0) is None
    assert virality(shares=2, impressions=None) is None


def test_video_completion_is_watch_time_over_views_times_length() -> None:
    detail = post_row.post_detail_fields(
        row(video_duration_s=30.0, video_views=10, video_watch_time_s=123.5)
    )
    assert detail["video_completion"] == 41.17
    assert (
        post_row.post_detail_fields(row(video_duration_s=None, video_views=10))["video_completion"]
        is None
    )


def test_a_snapshot_counts_its_engagement_and_its_rate_only_over_impressions() -> None:
    snapshot = dict.fromkeys(METRIC_COLUMNS) | {"likes": 7, "comments": 1, "impressions": 333}
    assert post_row.snapshot_fields(snapshot) == {
        **snapshot, "engagement": 8, "engagement_rate": 2.4,
    }  # fmt: skip
    no_impressions = snapshot | {"impressions": 0}
    assert post_row.snapshot_fields(no_impressions)["engagement_rate"] is None
    nothing = dict.fromkeys(METRIC_COLUMNS)
    assert post_row.snapshot_fields(nothing)["engagement"] == 0
