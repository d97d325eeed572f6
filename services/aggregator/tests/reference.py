"""A reference implementation of what the aggregator must write, in plain Python.

It reads the same events, in the order they were produced, and computes every row of
published_posts, post_metric_snapshots, post_analytics, account_snapshots,
analytics_summaries and activity_daily from DESIGN.md and the issues' rules directly,
without SQL and without the roll-up tricks the aggregator uses. Tests compare the database
with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pulse_shared import formulas
from pulse_shared.events import AccountObserved, Event, MetricsObserved, PostMetrics, PostPublished

PostKey = tuple[int, str, str]  # business, platform, platform_post_id
AccountKey = tuple[int, str, str]  # business, platform, account_id


def period_starts(day: date) -> dict[str, date]:
    return {
        "daily": day,
        "weekly": day - timedelta(days=day.weekday()),
        "monthly": day.replace(day=1),
        "yearly": day.replace(month=1, day=1),
    }


def period_bounds(period_type: str, start: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    if period_type == "daily":
        end = start + timedelta(days=1)
    elif period_type == "weekly":
        end = start + timedelta(days=7)
    elif period_type == "monthly":
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        end = start.replace(year=start.year + 1)

    def local_midnight(d: date) -> datetime:
        return datetime(d.year, d.month, d.day, tzinfo=tz).astimezone(UTC)

    return local_midnight(start), local_midnight(end)


@dataclass
class Reference:
    posts: dict[PostKey, PostPublished] = field(default_factory=dict)
    snapshots: dict[PostKey, dict[datetime, MetricsObserved]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    followers: dict[AccountKey, dict[datetime, int]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    businesses: set[int] = field(default_factory=set)

    def apply(self, event: Event) -> None:
        self.businesses.add(event.business_id)
        if isinstance(event, PostPublished):
            self.posts[(event.business_id, event.platform, event.platform_post_id)] = event
        elif isinstance(event, MetricsObserved):
            key = (event.business_id, event.platform, event.platform_post_id)
            self.snapshots[key].setdefault(event.observed_at, event)  # the first one wins
        elif isinstance(event, AccountObserved):
            key = (event.business_id, event.platform, event.account_id)
            self.followers[key].setdefault(event.observed_at, event.followers)

    def latest(self, key: PostKey) -> MetricsObserved | None:
        snaps = self.snapshots.get(key)
        return snaps[max(snaps)] if snaps else None

    def analytics(self) -> dict[PostKey, dict[str, Any]]:
        """post_analytics rows, by post key: metrics of the newest snapshot and rates."""
        rows = {}
        for key, post in self.posts.items():
            latest = self.latest(key)
            if latest is None:
                continue
            m = latest.metrics
            rows[key] = {
                **metric_columns(m),
                "engagement_rate": formulas.engagement_rate(
                    m.likes, m.comments, m.shares, m.impressions
                ),
                "click_through_rate": formulas.click_through_rate(m.clicks, m.impressions),
                "fetched_at": latest.observed_at,
                "platform_post_url": post.platform_post_url,
            }
        return rows

    def summaries(
        self, timezones: dict[int, str], post_ids: dict[PostKey, int]
    ) -> dict[tuple[int, str, str, date], dict[str, Any]]:
        """analytics_summaries rows, keyed by (business, platform, period_type, start)."""
        analytics = self.analytics()
        groups: dict[tuple[int, str, str, date], list[PostKey]] = defaultdict(list)
        for key, post in self.posts.items():
            tz = ZoneInfo(timezones[post.business_id])
            day = post.published_at.astimezone(tz).date()
            for period_type, start in period_starts(day).items():
                for platform in (post.platform, "all"):
                    groups[(post.business_id, platform, period_type, start)].append(key)

        growth: dict[tuple[int, str, str, date], int] = defaultdict(int)
        for (business, platform, _), observed in self.followers.items():
            tz = ZoneInfo(timezones[business])
            times = sorted(observed)
            periods = {
                (period_type, start)
                for t in times
                for period_type, start in period_starts(t.astimezone(tz).date()).items()
            }
            for period_type, start in periods:
                begins, ends = period_bounds(period_type, start, tz)
                inside = [t for t in times if begins <= t < ends]
                before = [t for t in times if t < begins]
                base = observed[before[-1]] if before else observed[inside[0]]
                for p in (platform, "all"):
                    growth[(business, p, period_type, start)] += observed[inside[-1]] - base

        rows = {}
        for k in set(groups) | set(growth):
            keys = groups.get(k, [])
            stats = [analytics.get(key) for key in keys]
            total = {
                name: sum((s or {}).get(col) or 0 for s in stats)
                for name, col in (
                    ("total_likes", "likes_count"),
                    ("total_comments", "comments_count"),
                    ("total_shares", "shares_count"),
                    ("total_impressions", "impressions"),
                    ("total_reach", "reach"),
                    ("total_clicks", "clicks"),
                )
            }
            reported = {
                f"reported_{name}": sum(1 for s in stats if s is not None and s[col] is not None)
                for name, col in REPORTED.items()
            }
            with_clicks = [s for s in stats if s is not None and s["clicks"] is not None]
            ctr_rated = [
                s["click_through_rate"] for s in with_clicks if (s["impressions"] or 0) > 0
            ]
            rated = [
                (s["engagement_rate"], post_ids[key])
                for key, s in zip(keys, stats, strict=True)
                if s is not None and (s["impressions"] or 0) > 0
            ]
            best = max(rated, key=lambda r: (r[0], -r[1])) if rated else None
            engagement = total["total_likes"] + total["total_comments"] + total["total_shares"]
            rows[k] = {
                "total_posts": len(keys),
                **total,
                "avg_engagement_rate": formulas.avg_engagement_rate(
                    (s["engagement_rate"], s["impressions"]) for s in stats if s is not None
                ),
                "engagement_rate": formulas.weighted_engagement_rate(
                    engagement, total["total_impressions"]
                ),
                "avg_impressions": total["total_impressions"] / len(keys) if keys else 0.0,
                "follower_growth": growth.get(k),
                "best_post_id": best[1] if best else None,
                "best_post_engagement_rate": best[0] if best else None,
                **reported,
                "ctr_impressions": sum(s["impressions"] or 0 for s in with_clicks),
                "ctr_rated_posts": len(ctr_rated),
                "click_through_rate_sum": sum(ctr_rated),
            }
        return rows

    def activity(self, timezones: dict[int, str]) -> dict[tuple[int, str, date], dict[str, int]]:
        """activity_daily rows, keyed by (business, platform, local day): per post, the last
        snapshot of each day minus the last one before it (zero before the first); the
        first snapshot also counts on the post's publish day when that is earlier (the
        attribution rule: its numbers were gathered before Pulse first saw the post)."""
        rows: dict[tuple[int, str, date], dict[str, int]] = {}
        for key, by_time in self.snapshots.items():
            business, platform, _ = key
            tz = ZoneInfo(timezones[business])
            day_end: dict[date, MetricsObserved] = {}
            for at in sorted(by_time):
                day_end[at.astimezone(tz).date()] = by_time[at]
            entries = [(day, day_end[day].metrics, 0) for day in sorted(day_end)]
            post = self.posts.get(key)
            if post is not None and post.published_at.astimezone(tz).date() < entries[0][0]:
                first = by_time[min(by_time)].metrics
                entries.insert(0, (post.published_at.astimezone(tz).date(), first, 1))
            previous = dict.fromkeys(ACTIVITY_GAINS, 0)
            for day, m, attributed in entries:
                now = {name: getattr(m, attr) or 0 for name, attr in ACTIVITY_GAINS.items()}
                row = rows.setdefault((business, platform, day), empty_activity())
                row["active_posts"] += 1 - attributed
                row["attributed_posts"] += attributed
                for name, attr in ACTIVITY_GAINS.items():
                    row[name] += now[name] - previous[name]
                    row[f"reported_{name}"] += getattr(m, attr) is not None
                previous = now
        return rows


def empty_activity() -> dict[str, int]:
    return {
        "active_posts": 0, "attributed_posts": 0, **dict.fromkeys(ACTIVITY_GAINS, 0),
        **{f"reported_{name}": 0 for name in ACTIVITY_GAINS},
    }  # fmt: skip


# activity_daily column -> PostMetrics field
ACTIVITY_GAINS = {
    "likes": "likes", "comments": "comments", "shares": "shares",
    "impressions": "impressions", "reach": "reach", "clicks": "clicks",
}  # fmt: skip
# analytics_summaries.reported_<name> -> the post_analytics column it counts
REPORTED = {
    "likes": "likes_count", "comments": "comments_count", "shares": "shares_count",
    "impressions": "impressions", "reach": "reach", "clicks": "clicks",
}  # fmt: skip


def metric_columns(m: PostMetrics) -> dict[str, Any]:
    return {
        "likes_count": m.likes,
        "comments_count": m.comments,
        "shares_count": m.shares,
        "reactions_count": m.reactions,
        "retweets_count": m.retweets,
        "quote_tweets_count": m.quote_tweets,
        "saves_count": m.saves,
        "impressions": m.impressions,
        "reach": m.reach,
        "clicks": m.clicks,
        "video_views": m.video_views,
        "video_watch_time_s": m.video_watch_time_s,
    }
