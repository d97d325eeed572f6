"""How audiences behave on each platform: the patterns the simulated numbers follow.

These are the "real" effects Pulse's analyses should find: engagement differs by
platform and content type, and by the local day and hour a post goes out; posts gather
attention fast at first and then slowly, at a platform's own pace. The numbers are
plausible, not measured; what matters is that they are stable and visible.
"""

from __future__ import annotations

import math

from pulse_shared.events import ContentType, Platform

# Engagement (likes + comments + shares) per impression of an average post.
BASE_ENGAGEMENT_RATE: dict[Platform, float] = {
    "linkedin": 0.032,
    "twitter": 0.014,
    "facebook": 0.022,
    "instagram": 0.045,
}

# Share of followers an average post reaches organically (impressions / followers).
IMPRESSIONS_PER_FOLLOWER: dict[Platform, float] = {
    "linkedin": 0.30,
    "twitter": 0.45,
    "facebook": 0.12,
    "instagram": 0.35,
}

# The kinds of post each platform carries, and how often a business posts each.
CONTENT_MIX: dict[Platform, dict[ContentType, float]] = {
    "linkedin": {"text": 0.25, "image": 0.3, "video": 0.15, "link": 0.2, "carousel": 0.1},
    "twitter": {"text": 0.4, "image": 0.3, "video": 0.15, "link": 0.15},
    "facebook": {"text": 0.15, "image": 0.35, "video": 0.2, "link": 0.2, "carousel": 0.1},
    "instagram": {"image": 0.5, "video": 0.3, "carousel": 0.2},
}

CONTENT_ENGAGEMENT: dict[Platform, dict[ContentType, float]] = {
    "linkedin": {"text": 1.0, "image": 1.15, "video": 1.25, "link": 0.75, "carousel": 1.5},
    "twitter": {"text": 1.0, "image": 1.35, "video": 1.5, "link": 0.7, "carousel": 1.2},
    "facebook": {"text": 0.8, "image": 1.2, "video": 1.45, "link": 0.7, "carousel": 1.1},
    "instagram": {"text": 1.0, "image": 1.0, "video": 1.35, "link": 1.0, "carousel": 1.4},
}

# Monday = 0 ... Sunday = 6, in the business's time zone.
DAY_ENGAGEMENT: dict[Platform, tuple[float, ...]] = {
    "linkedin": (1.1, 1.25, 1.3, 1.2, 1.0, 0.6, 0.55),
    "twitter": (1.0, 1.05, 1.1, 1.05, 1.0, 0.85, 0.85),
    "facebook": (0.95, 1.0, 1.05, 1.05, 1.1, 1.0, 0.9),
    "instagram": (0.95, 1.0, 1.05, 1.0, 1.0, 1.15, 1.1),
}

# Local hours of the two daily peaks of attention on each platform.
PEAK_HOURS: dict[Platform, tuple[float, float]] = {
    "linkedin": (9.0, 17.0),
    "twitter": (12.0, 20.0),
    "facebook": (13.0, 19.0),
    "instagram": (11.0, 20.5),
}

# Hours after publishing by which a post has most of its early attention (the time
# constant of the fast part of the curve); the slow tail takes twelve times as long.
ATTENTION_HOURS: dict[Platform, float] = {
    "linkedin": 20.0,
    "twitter": 4.0,
    "facebook": 10.0,
    "instagram": 14.0,
}
TAIL_SHARE = 0.15
TAIL_STRETCH = 12.0


def hour_engagement(platform: Platform, local_hour: float) -> float:
    """Engagement multiplier of a post published at ``local_hour`` (0 to 24)."""
    morning, evening = PEAK_HOURS[platform]

    def bump(peak: float, width: float) -> float:
        distance = min(abs(local_hour - peak), 24 - abs(local_hour - peak))
        return math.exp(-(distance**2) / (2 * width**2))

    return 0.45 + 0.85 * bump(morning, 2.5) + 0.6 * bump(evening, 2.0)


def day_engagement(platform: Platform, local_weekday: int) -> float:
    return DAY_ENGAGEMENT[platform][local_weekday]


def attention_progress(platform: Platform, age_hours: float) -> float:
    """The share (0 to 1) of a post's lifetime numbers it has gathered ``age_hours`` after
    publishing: fast at first, then slowing, never decreasing."""
    if age_hours <= 0:
        return 0.0
    fast = ATTENTION_HOURS[platform]
    slow = fast * TAIL_STRETCH
    return (1 - TAIL_SHARE) * (1 - math.exp(-age_hours / fast)) + TAIL_SHARE * (
        1 - math.exp(-age_hours / slow)
    )
