"""The sentences query-api writes about the numbers. Pure (no I/O): each is made from
figures its answer already carries, and an insight carries those figures beside its text,
so a sentence never says more than its numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PLATFORM_NAMES = {
    "linkedin": "LinkedIn",
    "twitter": "X",
    "facebook": "Facebook",
    "instagram": "Instagram",
}
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Platform = Mapping[str, Any]  # a platform's summary (PlatformSummaryOut's fields)
Insight = dict[str, Any]  # its text and the numbers it rests on (InsightOut)


def platform_insights(ranked: Sequence[Platform]) -> list[Insight]:
    """What a platform comparison says, from its platforms ranked by engagement rate (best
    first): how the best and worst rates compare, where most posts went, which platform's
    posts are seen most. A sentence without the figures it needs is left out."""
    found = [
        _best_against_worst(ranked),
        _most_posts(ranked),
        _seen_most(ranked),
    ]
    return [insight for insight in found if insight is not None]


def _best_against_worst(ranked: Sequence[Platform]) -> Insight | None:
    """The best rate against the worst, among the platforms with impressions: a rate over
    no impressions compares nothing. Needs two such platforms."""
    rated = [p for p in ranked if (p["total_impressions"] or 0) > 0]
    if len(rated) < 2:
        return None
    best, worst = rated[0], rated[-1]
    if worst["engagement_rate"] <= 0:  # no ratio to a zero: say what the worst earned
        return {
            "text": f"{PLATFORM_NAMES[worst['platform']]} posts earned no engagement on their "
            f"{worst['total_impressions']:,} impressions",
            "numbers": {"platform": worst["platform"], "impressions": worst["total_impressions"]},
        }
    ratio = best["engagement_rate"] / worst["engagement_rate"]
    return {
        "text": f"{PLATFORM_NAMES[best['platform']]} posts earn {ratio:.1f}× the engagement "  # noqa: RUF001
        f"rate of {PLATFORM_NAMES[worst['platform']]} posts",
        "numbers": {
            "best": best["platform"],
            "best_rate": best["engagement_rate"],
            "worst": worst["platform"],
            "worst_rate": worst["engagement_rate"],
            "ratio": round(ratio, 2),
        },
    }


def _most_posts(ranked: Sequence[Platform]) -> Insight | None:
    """Where most posts went and what share of the engagement they earned; a tie goes to
    the platform whose name sorts last."""
    posted = [p for p in ranked if p["total_posts"] > 0]
    if not posted:
        return None
    most = max(posted, key=lambda p: (p["total_posts"], p["platform"]))
    return {
        "text": f"{most['share_of_posts']:.0f}% of posts went to "
        f"{PLATFORM_NAMES[most['platform']]} and earned {most['share_of_engagement']:.0f}% of "
        "the engagement",
        "numbers": {
            "platform": most["platform"],
            "posts": most["total_posts"],
            "share_of_posts": most["share_of_posts"],
            "share_of_engagement": most["share_of_engagement"],
        },
    }


def _seen_most(ranked: Sequence[Platform]) -> Insight | None:
    """The platform with the most impressions per post, among those with posts that report
    impressions; a tie goes to the platform whose name sorts last."""
    seen = [p for p in ranked if p["total_posts"] > 0 and p["avg_impressions"] is not None]
    if not seen:
        return None
    most = max(seen, key=lambda p: (p["avg_impressions"], p["platform"]))
    return {
        "text": f"{PLATFORM_NAMES[most['platform']]} posts are seen most: "
        f"{most['avg_impressions']:,.0f} impressions per post",
        "numbers": {"platform": most["platform"], "avg_impressions": most["avg_impressions"]},
    }


def window_label(day: int, start_hour: int, end_hour: int) -> str:
    """A posting window in words, "Tuesday 09:00–11:00": from its first hour to the end of
    its last (``end_hour`` included)."""  # noqa: RUF002
    return f"{DAY_NAMES[day]} {start_hour:02d}:00–{end_hour + 1:02d}:00"  # noqa: RUF001


def best_window_sentence(label: str, posts: int, score: float, mean: float) -> str:
    """The best-times answer when a window is recommended: the first one and its estimate."""
    return (
        f"Best: {label} ({posts} posts), an estimated engagement rate of {score:.2f}% "
        f"against {mean:.2f}% on average."
    )


def not_enough_posts_sentence(needed: int, min_posts: int, window_hours: int) -> str:
    """The best-times answer when no window holds ``min_posts`` posts yet: how many more the
    busiest window of up to ``window_hours`` hours needs."""
    return (
        f"Not enough posts yet ({needed} more needed): a recommendation needs {min_posts} "
        f"posts with impressions within {window_hours} consecutive hours of one day; the "
        f"busiest such window has {min_posts - needed}."
    )


def nothing_above_mean_sentence(min_posts: int, mean: float) -> str:
    """The best-times answer when windows have enough posts but none beats the mean."""
    return f"No window of {min_posts} or more posts does better than the average {mean:.2f}% yet."
