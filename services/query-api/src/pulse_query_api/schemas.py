"""Response shapes. The names are DESIGN.md's "Query API names": a contract."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
