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
    engagement_rate: float | None = Field(
        description="Percent, rounded to 2 decimals; null without impressions"
    )


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
    """A post with its metrics and rates; a rate over something not reported is null."""

    engagement: int = Field(description="likes + comments + shares (null counts as 0)")
    engagement_rate: float | None = Field(
        description="engagement / impressions x 100, 2 decimals; null without impressions"
    )
    click_through_rate: float | None = Field(
        description="clicks / impressions x 100, 2 decimals; null without impressions or "
        "reported clicks"
    )
    virality: float | None = Field(
        description="shares / impressions x 100, 2 decimals; null without impressions or "
        "reported shares"
    )
    video_completion: float | None = Field(
        description="watch time / (views x duration) x 100; null unless a video with views"
    )
    fetched_at: datetime | None = Field(description="When the newest snapshot was observed")


class PostDetailOut(PostOut):
    timezone: str = Field(description="The business's IANA time zone (instants stay UTC)")
    history: list[MetricSnapshotOut] = Field(description="Every stored snapshot, oldest first")


def _covers(platforms: list[JsonValue], posts: int, left_out: list[JsonValue]) -> JsonValue:
    return {"posts": posts, "platforms": platforms, "not_reported_by": left_out}


# (FastAPI leaves null values out of the OpenAPI document, so the examples show none.)
SUMMARY_EXAMPLE: dict[str, JsonValue] = {
    "total_posts": 3, "total_likes": 51, "total_comments": 7, "total_shares": 8,
    "total_impressions": 2000, "total_reach": 700, "total_clicks": 20, "total_engagement": 66,
    "avg_engagement_rate": 3.25, "engagement_rate": 3.3, "avg_impressions": 666.67,
    "avg_reach": 700.0, "click_through_rate": 2.0, "avg_click_through_rate": 2.0,
    "follower_growth": 25, "followers": 1025, "follower_growth_pct": 2.5,
    "coverage": {
        "total_likes": _covers(["twitter", "facebook"], 3, []),
        "total_comments": _covers(["twitter", "facebook"], 3, []),
        "total_shares": _covers(["twitter", "facebook"], 3, []),
        "total_impressions": _covers(["twitter", "facebook"], 3, []),
        "total_reach": _covers(["facebook"], 1, ["twitter"]),
        "total_clicks": _covers(["facebook"], 1, ["twitter"]),
    },
}  # fmt: skip

NOT_REPORTED = "; null when the period has posts and none of them reported it (0 over no posts)"


class CoverageOut(BaseModel):
    posts: int = Field(description="The posts whose numbers report the metric")
    platforms: list[str] = Field(
        description="The platforms the total adds up: those with a post reporting it"
    )
    not_reported_by: list[str] = Field(
        description="Platforms with posts in the period none of which reported it: not in the total"
    )


class SummaryOut(BaseModel):
    """A period's numbers. Null means not reported: a platform that does not report a metric
    adds nothing to its total (see ``coverage``), and a rate or mean whose denominator no
    post reported is null."""

    model_config = ConfigDict(json_schema_extra={"examples": [SUMMARY_EXAMPLE]})

    total_posts: int
    total_likes: int | None = Field(
        description="Sum over the posts that reported it" + NOT_REPORTED
    )
    total_comments: int | None = Field(description="As total_likes")
    total_shares: int | None = Field(description="As total_likes")
    total_impressions: int | None = Field(description="As total_likes")
    total_reach: int | None = Field(description="As total_likes")
    total_clicks: int | None = Field(description="As total_likes")
    total_engagement: int | None = Field(
        description="likes + comments + shares (an unreported one as 0); null when none of "
        "the three was reported"
    )
    avg_engagement_rate: float | None = Field(
        description="Mean per-post engagement rate of the posts with impressions (percent); "
        "null when none has"
    )
    engagement_rate: float | None = Field(
        description="Total engagement / total impressions x 100 (weighted); null when no post "
        "reported impressions"
    )
    avg_impressions: float | None = Field(
        description="Impressions per post, over the posts that reported them; null when none"
    )
    avg_reach: float | None = Field(
        description="Reach per post, over the posts that reported it; null when none did"
    )
    click_through_rate: float | None = Field(
        description="Clicks / impressions x 100 over the posts that reported clicks (weighted); "
        "null when none did"
    )
    avg_click_through_rate: float | None = Field(
        description="Mean per-post click-through rate of the posts that reported clicks and "
        "have impressions (percent); null when none"
    )
    follower_growth: int | None = Field(
        description="Followers gained over the period: per account observed in it, its last "
        "count in the period minus its last count before it (or its first in it); null when "
        "no count was observed"
    )
    followers: int | None = Field(
        description="The followers at the period's end: per account, its latest count at or "
        "before the end (observed in the period or earlier), summed; null when no account "
        "has one by then"
    )
    follower_growth_pct: float | None = Field(
        description="follower_growth x 100 / the followers at the period's start of the "
        "accounts whose growth it adds up (those observed in it); null when that is 0 or "
        "unknown"
    )
    coverage: dict[str, CoverageOut] = Field(
        description="Per total (total_likes .. total_clicks): which posts and platforms it adds "
        "up, and which platforms with posts it leaves out because they did not report it"
    )


class PlatformSummaryOut(SummaryOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"platform": "facebook", **SUMMARY_EXAMPLE, "total_posts": 1,
                 "total_likes": 30, "total_comments": 5, "total_shares": 5,
                 "total_impressions": 1000, "total_engagement": 40,
                 "avg_engagement_rate": 4.0, "engagement_rate": 4.0, "avg_impressions": 1000.0,
                 "coverage": {total: _covers(["facebook"], 1, []) for total in (
                     "total_likes", "total_comments", "total_shares", "total_impressions",
                     "total_reach", "total_clicks")},
                 "share_of_posts": 33.33, "share_of_engagement": 60.61}
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
                {"period_start": "2026-10-01", "period_end": "2026-10-04", "days": 4,
                 "partial": True, "posts": 2, "likes": 50, "comments": 7, "shares": 8,
                 "impressions": 2000, "reach": 700, "clicks": 20, "engagement": 65,
                 "engagement_rate": 3.25, "follower_growth": 10, "followers": 1010,
                 "follower_growth_pct": 1.0, "estimated": False}
            ]
        }
    )  # fmt: skip

    period_start: date = Field(
        description="The bucket's first local day inside the range (a week or month the "
        "range cuts starts at the range's start, not before it)"
    )
    period_end: date = Field(description="Its last local day inside the range, included")
    days: int = Field(description="The local days it covers")
    partial: bool = Field(
        description="A week or month the range cuts: fewer days than the calendar period, "
        "so its totals are not comparable with a whole one"
    )
    posts: int = Field(description="Posts published in it")
    likes: int | None = Field(
        description="Publish basis: the total of its posts; activity basis: what every post "
        "gained in it. Null when none of the posts it adds up reported the metric"
    )
    comments: int | None = Field(description="As likes")
    shares: int | None = Field(description="As likes")
    impressions: int | None = Field(description="As likes")
    reach: int | None = Field(description="As likes")
    clicks: int | None = Field(description="As likes")
    engagement: int | None = Field(description="likes + comments + shares")
    engagement_rate: float | None = Field(
        description="engagement / impressions x 100; null when no impressions were reported"
    )
    follower_growth: int | None = Field(description="As the summary's, over the bucket")
    followers: int | None = Field(
        description="As the summary's, at the bucket's end: every account's latest count by "
        "then, so a day without an observation carries the last one forward"
    )
    follower_growth_pct: float | None = Field(description="As the summary's, over the bucket")
    estimated: bool = Field(
        description="Activity basis: it holds what some post gathered before Pulse first "
        "observed it, counted on the post's publish day (when that is earlier), an estimate "
        "of when it happened"
    )


class PlatformTrendsOut(BaseModel):
    platform: str
    trends: list[TrendItemOut]
    compared_trends: list[TrendItemOut] | None = Field(
        default=None, description="With `compare`: its series over the compared period"
    )


class TopPostOut(PostMetricsOut, PostIdentityOut):
    """A post as a ranking lists it; a metric the platform did not report is null."""

    engagement: int | None = Field(
        description="likes + comments + shares (a null counts as 0); null when none is reported"
    )
    engagement_rate: float | None = Field(
        description="engagement / impressions x 100, 2 decimals; null without impressions"
    )
    click_through_rate: float | None = Field(
        description="clicks / impressions x 100, 2 decimals; null without impressions or "
        "reported clicks"
    )
    fetched_at: datetime | None = Field(description="When the newest snapshot was observed")


SCORE_DESCRIPTION = (
    "The model's estimate of a post's engagement rate here (percent): pooled and shrunk "
    "toward the overall mean (best-times description). Recommendations rank by it."
)


class DaySlotOut(BaseModel):
    day: int = Field(ge=0, le=6, description="0 = Monday, local time")
    posts: int = Field(description="Posts with impressions published on this day of week")
    avg_engagement_rate: float | None = Field(description="Their raw mean; null without posts")
    score: float = Field(description="The overall mean plus this day's (shrunk) effect")


class HourSlotOut(BaseModel):
    hour: int = Field(ge=0, le=23, description="Local hour")
    posts: int = Field(description="Posts with impressions published in this hour")
    avg_engagement_rate: float | None = Field(description="Their raw mean; null without posts")
    score: float = Field(description="The overall mean plus this hour's (shrunk, smoothed) effect")


class RecommendationOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"day": 1, "hour": 9, "start_hour": 9, "end_hour": 10, "posts": 14,
                 "score": 4.2, "label": "Tuesday 09:00–11:00"}  # noqa: RUF001
            ]
        }
    )  # fmt: skip

    day: int = Field(ge=0, le=6, description="0 = Monday, local time")
    hour: int = Field(ge=0, le=23, description="The window's best hour (of its hours with posts)")
    start_hour: int = Field(ge=0, le=23, description="The window's first hour")
    end_hour: int = Field(ge=0, le=23, description="The window's last hour, included")
    posts: int = Field(description="Posts with impressions published in the window")
    score: float = Field(description="The mean score of the window's posts; the ranking")
    label: str = Field(description="The window in words, e.g. 'Tuesday 09:00–11:00'")  # noqa: RUF001


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
    avg_engagement_rate: float | None = Field(description="Their raw mean; null without posts")
    score: float = Field(description=SCORE_DESCRIPTION)


class BestTimesOut(BaseModel):
    by_day: list[DaySlotOut] = Field(description="7 items, Monday first")
    by_hour: list[HourSlotOut] = Field(description="24 items, 00:00 first")
    by_slot: list[SlotOut] = Field(
        description="All 168 (day, hour), day-major: the heatmap's cells, shaded by score"
    )
    recommendations: list[RecommendationOut] = Field(
        description="Up to 3 windows of 2-3 hours with enough posts scoring above "
        "baseline_score, best first, none overlapping; empty when none (see message)"
    )
    best_day: int | None = Field(description="The first recommendation's day; null without one")
    best_hour: int | None = Field(
        description="The first recommendation's best hour; null without one"
    )
    confidence_score: int = Field(
        ge=0, le=100, description="How far the evidence backs the first recommendation"
    )
    posts_considered: int = Field(description="Posts with impressions in the period")
    baseline_score: float = Field(
        description="The overall mean every score is shrunk toward (rates capped at the "
        "outlier fence)"
    )
    min_window_posts: int = Field(description="Fewest posts a recommended window holds")
    posts_needed: int = Field(
        description="How many more posts the busiest window needs before one can be "
        "recommended; 0 once one has enough"
    )
    message: str = Field(
        description="The answer in a sentence, or 'Not enough posts yet (N more needed) ...'"
    )


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
    timezone: str = Field(description="The business's IANA time zone (instants stay UTC)")
    accounts: list[AccountOut]


class CalendarOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"business_id": 42, "name": "Acme Coffee", "timezone": "America/New_York",
                 "today": "2026-11-19"}
            ]
        }
    )  # fmt: skip

    business_id: int
    name: str | None = Field(
        description="The business's name; null when it has none (a business first named by "
        "an event, until an operator or its owner names it)"
    )
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
    compare: Literal["previous", "year"] = Field(
        description="What the period is compared against: the period of the same length "
        "just before it, or the same days a year earlier"
    )
    previous_period: PeriodOut = Field(description="The compared period's days")
    previous_summary: SummaryOut = Field(description="The compared period's summary")
    change_pct: dict[str, float | None] = Field(
        description="Growth against the compared period, percent; null where it had nothing"
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
    """Means per post over the posts that reported the metric; null when none did."""

    content_type: str
    posts: int
    avg_likes: float | None
    avg_comments: float | None
    avg_shares: float | None
    avg_impressions: float | None
    avg_reach: float | None
    avg_clicks: float | None
    avg_engagement_rate: float | None = Field(
        description="Mean per-post rate (posts with impressions)"
    )
    engagement_rate: float | None = Field(
        description="Weighted: engagement / impressions x 100; null when no post reported "
        "impressions"
    )
    avg_click_through_rate: float | None = Field(
        description="Mean per-post click-through rate (posts that reported clicks and have "
        "impressions)"
    )


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
    by_platform: list[PlatformTrendsOut] = Field(
        description="The same series for each platform of the scope with anything in the range"
    )
    compare: Literal["previous", "year"] | None = Field(
        default=None, description="What the compared series is compared against, if asked"
    )
    compared_period: PeriodOut | None = Field(
        default=None, description="With `compare`: the compared period's days"
    )
    compared_trends: list[TrendItemOut] | None = Field(
        default=None,
        description="With `compare`: the series over the compared period, item i beside the "
        "range's item i (its `period_start` and `period_end` the compared days)",
    )
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
    platform: str = Field(description="The platform asked for (its row alone), or all")
    platforms: list[PlatformSummaryOut] = Field(
        description="Ranked by engagement rate (a platform without one last)"
    )
    best: str | None
    worst: str | None
    insights: list[InsightOut]
    data_as_of: datetime | None
    stale_posts: int
