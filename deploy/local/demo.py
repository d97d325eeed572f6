"""Demo data through the real pipeline: posts, metric snapshots and follower counts for
one business, published to Kafka as the ingest services would, then aggregated.

Deterministic for a given day (event ids are uuid5 of their content, times anchored to
today 00:00 UTC), so running it twice on one day changes nothing. Prints one post id.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import (
    AccountObserved,
    ContentType,
    Event,
    MetricsObserved,
    Platform,
    PostMetrics,
    PostPublished,
)
from pulse_shared.kafka import make_producer, publish
from pulse_shared.settings import PulseSettings
from pulse_shared.topics import ACCOUNTS_OBSERVED, METRICS_OBSERVED, POSTS_PUBLISHED

NAMESPACE = uuid.UUID("5d1b6a4e-0c3f-4d7e-9a2b-8c1e6f0a9b3d")
PLATFORMS: tuple[Platform, ...] = ("linkedin", "twitter", "facebook", "instagram")
CONTENT: tuple[ContentType, ...] = ("text", "image", "video", "link", "carousel")
TEXTS = (
    "We are hiring engineers who love data",
    "Five lessons from our first year",
    "Behind the scenes at the studio",
    "New feature: scheduled reports",
    "Customer story: how Acme doubled reach",
    "Our take on the state of social in 2026",
)


def event_id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(map(str, parts)))


def metrics_for(platform: Platform, rng: random.Random, scale: float, video: bool) -> PostMetrics:
    impressions = int(rng.randint(800, 6000) * scale)
    likes = int(impressions * rng.uniform(0.01, 0.06))
    comments = int(likes * rng.uniform(0.05, 0.2))
    views = int(impressions * 0.6) if video else None
    watch = round(views * rng.uniform(8, 25), 1) if views is not None else None
    if platform == "twitter":
        retweets, quotes = int(likes * 0.2), int(likes * 0.05)
        return PostMetrics(
            likes=likes, comments=comments, shares=retweets + quotes, retweets=retweets,
            quote_tweets=quotes, impressions=impressions, clicks=int(impressions * 0.012),
            video_views=views, saves=int(likes * 0.1),
        )  # fmt: skip
    if platform == "facebook":
        return PostMetrics(
            likes=likes, reactions=likes, comments=comments, shares=int(likes * 0.15),
            impressions=impressions, reach=int(impressions * 0.7),
            clicks=int(impressions * 0.02), video_views=views, video_watch_time_s=watch,
        )  # fmt: skip
    if platform == "instagram":
        return PostMetrics(
            likes=likes, comments=comments, shares=int(likes * 0.08), impressions=impressions,
            reach=int(impressions * 0.8), saves=int(likes * 0.12), video_views=views,
        )  # fmt: skip
    return PostMetrics(
        likes=likes, comments=comments, shares=int(likes * 0.1), impressions=impressions,
        reach=int(impressions * 0.65), clicks=int(impressions * 0.025),
    )  # fmt: skip


def demo_events(business_id: int, posts: int, today: datetime) -> list[tuple[str, Event]]:
    rng = random.Random(business_id)
    events: list[tuple[str, Event]] = []
    for n in range(posts):
        platform = PLATFORMS[n % len(PLATFORMS)]
        content_type = CONTENT[rng.randrange(len(CONTENT))]
        published = today - timedelta(days=rng.randint(1, 29), hours=rng.randint(0, 23))
        post_key = f"demo-{business_id}-{n}"
        events.append((POSTS_PUBLISHED, PostPublished(
            event_id=event_id(post_key), business_id=business_id, platform=platform,
            platform_post_id=post_key, account_id=f"demo-{platform}",
            published_at=published, content=TEXTS[n % len(TEXTS)], content_type=content_type,
            platform_post_url=f"https://example.com/{platform}/{post_key}",
            video_duration_s=45.0 if content_type == "video" else None,
        )))  # fmt: skip
        # Three cumulative snapshots: after an hour, a day and three days.
        for step, (age, scale) in enumerate(((1, 0.4), (24, 0.85), (72, 1.0))):
            observed = published + timedelta(hours=age)
            if observed > today:
                break
            metrics = metrics_for(
                platform, random.Random(f"{post_key}"), scale, content_type == "video"
            )
            events.append((METRICS_OBSERVED, MetricsObserved(
                event_id=event_id(post_key, step), business_id=business_id, platform=platform,
                platform_post_id=post_key, observed_at=observed, source="poll", metrics=metrics,
            )))  # fmt: skip
    for platform in PLATFORMS:
        followers = rng.randint(2000, 20000)
        for day in range(30, -1, -1):
            followers += rng.randint(-5, 40)
            events.append((ACCOUNTS_OBSERVED, AccountObserved(
                event_id=event_id(platform, day), business_id=business_id, platform=platform,
                account_id=f"demo-{platform}", observed_at=today - timedelta(days=day),
                followers=followers,
            )))  # fmt: skip
    return events


async def publish_all(settings: PulseSettings, events: list[tuple[str, Event]]) -> None:
    producer = make_producer(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await asyncio.gather(*(publish(producer, settings.topic(t), e) for t, e in events))
    finally:
        await producer.stop()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--business-id", type=int, default=1)
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    settings = PulseSettings()
    conn = await asyncpg.connect(asyncpg_dsn(settings.database_url))
    try:
        loaded = await conn.fetchval(
            "SELECT count(*) FROM post_analytics WHERE business_id = $1", args.business_id
        )
        if loaded < args.posts:
            today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            await publish_all(settings, demo_events(args.business_id, args.posts, today))
        deadline = asyncio.get_running_loop().time() + args.timeout
        while True:
            done = await conn.fetchval(
                "SELECT count(*) FROM post_analytics WHERE business_id = $1", args.business_id
            )
            if done >= args.posts:
                break
            if asyncio.get_running_loop().time() > deadline:
                print(f"[pulse] demo: only {done}/{args.posts} posts aggregated", file=sys.stderr)
                return 1
            await asyncio.sleep(0.3)
        post_id = await conn.fetchval(
            "SELECT post_id FROM post_analytics WHERE business_id = $1 "
            "ORDER BY engagement_rate DESC LIMIT 1",
            args.business_id,
        )
    finally:
        await conn.close()
    print(post_id)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
