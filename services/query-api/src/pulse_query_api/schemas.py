"""Response shapes. The names are DESIGN.md's "Query API names": a contract."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class PostMetricsOut(BaseModel):
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    reactions: int | None = None
    retweets: int | None = None
    quote_tweets: int | None = None
    impressions: int | None = None
    reach: int | None = None
    clicks: int | None = None
    video_views: int | None = None
    video_watch_time_s: float | None = None
    saves: int | None = None


class MetricSnapshotOut(PostMetricsOut):
    observed_at: datetime
    source: str
    engagement: int
    engagement_rate: float = Field(description="Percent, rounded to 2 decimals")


class PostIdentityOut(BaseModel):
    post_id: int = Field(description="Pulse's id of the post")
    business_id: int
    platform: str
    platform_post_id: str
    platform_post_url: str | None
    published_at: datetime
    content_type: str
    content_preview: str
    thumbnail_url: str | None = Field(
        default=None, description="The post's preview image on the platform, where it gives one"
    )
    removed_at: datetime | None = Field(
        default=None,
        description="When the post was found gone from the platform: no longer polled, "
        "its numbers kept",
    )


class PostOut(PostMetricsOut, PostIdentityOut):
    """A post as every listing shows it: identity first, then metrics and rates."""

    engagement: int = Field(description="likes + comments + shares (null counts as 0)")
    engagement_rate: float = Field(description="engagement / impressions x 100, 2 decimals")
    click_through_rate: float = Field(description="clicks / impressions x 100, 2 decimals")
    virality: float = Field(description="shares / impressions x 100, 2 decimals")
    video_completion: float | None = Field(
        description="watch time / (views x duration) x 100; null unless a video with views"
    )
    fetched_at: datetime | None = Field(description="When the newest snapshot was observed")


class PostDetailOut(PostOut):
    history: list[MetricSnapshotOut] = Field(description="Every stored snapshot, oldest first")


SUMMARY_EXAMPLE: dict[str, JsonValue] = {
    "total_posts": 3, "total_likes": 51, "total_comments": 7, "total_shares": 8,
    "total_impressions": 2000, "total_reach": 0, "total_clicks": 20, "total_engagement": 66,
    "avg_engagement_rate": 3.25, "engagement_rate": 3.3, "avg_impressions": 666.67,
    "follower_growth": 25,
}  # fmt: skip


class SummaryOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SUMMARY_EXAMPLE]})

    total_posts: int
    total_likes: int
    total_comments: int
    total_shares: int
    total_impressions: int
    total_reach: int
    total_clicks: int
    total_engagement: int = Field(description="likes + comments + shares")
    avg_engagement_rate: float = Field(
        description="Mean per-post engagement rate of the posts with impressions (percent)"
    )
    engagement_rate: float = Field(
        description="Total engagement / total impressions x 100 (weighted)"
    )
    avg_impressions: float
    follower_growth: int | None = Field(
        description="Followers gained over the period; null when no count was observed"
    )


class PlatformSummaryOut(SummaryOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"platform": "twitter", **SUMMARY_EXAMPLE, "share_of_posts": 66.67,
                 "share_of_engagement": 77.27}
            ]
        }
    )  # fmt: skip
    platform: str
    share_of_posts: float = Field(description="This platform's percent of the posts")
    share_of_engagement: float = Field(description="This platform's percent of the engagement")


class TrendItemOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"period_start": "2026-10-02", "posts": 1, "likes": 10, "comments": 2,
                 "shares": 3, "impressions": 1000, "engagement": 15, "engagement_rate": 1.5}
            ]
        }
    )  # fmt: skip

    period_start: date = Field(description="A local date of the business")
    posts: int
    likes: int
    comments: int
    shares: int
    impressions: int
    engagement: int
    engagement_rate: float


class TopPostOut(PostMetricsOut, PostIdentityOut):
    engagement_rate: float
    click_through_rate: float
    fetched_at: datetime | None


class DaySlotOut(BaseModel):
    day: int = Field(ge=0, le=6, description="0 = Monday")
    posts: int
    avg_engagement_rate: float = Field(description="Raw mean of the slot")
    score: float = Field(description="The mean shrunk toward the overall mean (ranking)")


class HourSlotOut(BaseModel):
    hour: int = Field(ge=0, le=23)
    posts: int
    avg_engagement_rate: float
    score: float


class RecommendationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"day": 5, "hour": 12, "posts": 14, "score": 4.2}]}
    )

    day: int
    hour: int
    posts: int
    score: float


class SlotOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"day": 1, "hour": 9, "posts": 6, "avg_engagement_rate": 4.1, "score": 3.6}
            ]
        }
    )

    day: int = Field(ge=0, le=6, description="0 = Monday, local time")
    hour: int = Field(ge=0, le=23)
    posts: int = Field(description="Posts with impressions published in this slot")
    avg_engagement_rate: float = Field(description="Their raw mean engagement rate")
    score: float = Field(description="The mean shrunk toward the overall mean")


class BestTimesOut(BaseModel):
    by_day: list[DaySlotOut]
    by_hour: list[HourSlotOut]
    by_slot: list[SlotOut] = Field(
        description="Every (day, hour) with posts, day-major: the heatmap's cells"
    )
    recommendations: list[RecommendationOut]
    best_day: int | None
    best_hour: int | None
    confidence_score: int = Field(ge=0, le=100)
    posts_considered: int


class AccountOut(BaseModel):
    platform: str
    account_id: str
    display_name: str = Field(description="The account's name on the platform")
    status: Literal["syncing", "active", "needs_reconnection", "disconnected"]
    status_reason: str | None = Field(description="Why it needs reconnection, or was disconnected")
    posts_found: int = Field(description="Posts of the account found on the platform")
    posts_with_numbers: int = Field(description="Of its posts, those polled at least once")
    last_synced_at: datetime | None = Field(description="When its posts were last listed")
    connected_at: datetime


class AccountsOut(BaseModel):
    business_id: int
    accounts: list[AccountOut]


class CalendarOut(BaseModel):
    business_id: int
    timezone: str = Field(description="The business's IANA time zone")
    today: date = Field(description="The business's local date now")


class PeriodOut(BaseModel):
    start_date: date
    end_date: date
    timezone: str


class OverviewOut(BaseModel):
    period: PeriodOut
    platform: str
    summary: SummaryOut
    previous_summary: SummaryOut
    change_pct: dict[str, float | None] = Field(
        description="Growth against the previous period, percent; null where it had nothing"
    )
    by_platform: list[PlatformSummaryOut]
    trends: list[TrendItemOut]
    top_posts: list[TopPostOut]
    best_times: BestTimesOut
    data_as_of: datetime | None = Field(description="The newest observation the answer rests on")
    stale_posts: int = Field(
        description="Posts in the period whose numbers are older than their poll schedule"
    )


class StoredSummaryOut(SummaryOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"platform": "all", "period_type": "weekly", "period_start": "2026-09-28",
                 "period_end": "2026-10-04", **SUMMARY_EXAMPLE, "best_post_id": 17,
                 "best_post_engagement_rate": 5.0}
            ]
        }
    )  # fmt: skip
    platform: str
    period_type: str
    period_start: date = Field(description="First local day of the period")
    period_end: date = Field(description="Last local day of the period, included")
    best_post_id: int | None
    best_post_engagement_rate: float | None


class SummariesOut(BaseModel):
    period: PeriodOut
    platform: str
    period_type: str
    summaries: list[StoredSummaryOut]


class TopPostsOut(BaseModel):
    period: PeriodOut
    platform: str
    metric: str
    top_posts: list[TopPostOut]
    data_as_of: datetime | None
    stale_posts: int


class BestTimesAnswerOut(BestTimesOut):
    period: PeriodOut
    platform: str
    data_as_of: datetime | None
    stale_posts: int


class ContentTypeOut(BaseModel):
    content_type: str
    posts: int
    avg_likes: float
    avg_comments: float
    avg_shares: float
    avg_impressions: float
    avg_clicks: float
    avg_engagement_rate: float = Field(description="Mean per-post rate (posts with impressions)")
    engagement_rate: float = Field(description="Weighted: engagement / impressions x 100")


class ContentPerformanceOut(BaseModel):
    period: PeriodOut
    platform: str
    content_types: list[ContentTypeOut]
    data_as_of: datetime | None
    stale_posts: int


class TrendsOut(BaseModel):
    period: PeriodOut
    platform: str
    period_type: str
    basis: str = Field(
        description="publish: metrics of the posts published in each period; activity: what "
        "all posts gained during each period"
    )
    trends: list[TrendItemOut]
    data_as_of: datetime | None
    stale_posts: int


class InsightOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "LinkedIn posts earn 2.3× the engagement rate of X posts",  # noqa: RUF001
                    "numbers": {"best": "linkedin", "best_rate": 4.6, "worst": "twitter",
                                "worst_rate": 2.0, "ratio": 2.3},
                }
            ]
        }
    )  # fmt: skip

    text: str
    numbers: dict[str, float | int | str | None] = Field(
        description="The figures the sentence rests on"
    )


class PlatformComparisonOut(BaseModel):
    period: PeriodOut
    platforms: list[PlatformSummaryOut] = Field(description="Ranked by engagement rate")
    best: str | None
    worst: str | None
    insights: list[InsightOut]
    data_as_of: datetime | None
    stale_posts: int
