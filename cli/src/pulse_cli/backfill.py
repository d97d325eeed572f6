"""``pulse backfill``: poll a business's posts of a date range again, now.

How: through the ingest services' own poll schedule in Redis
(:class:`pulse_shared.ingest.tracking.PollSchedule`), the posts read from
``published_posts``. Each post of the range is tracked (a post the schedule lost, e.g.
after a Redis flush, comes back due now) and its next poll is moved to now (``poll_soon``:
only ever earlier, a post being polled right now keeps the wish for after that poll). The
ingest services' poll loops then take them within the platforms' rate limits, and what
they observe flows to the aggregator as usual.

Why not ``refresh.requested.v1``: a refresh request is for a whole business and platform,
so it would re-poll every tracked post of the business, not the range asked for, and
spend rate-limit budget on posts nobody asked about. Nor would it bring back posts that
fell off the schedule. Writing the schedule directly also lets this command count what it
did, post by post. The price is that it must use the same Redis and key scope as the
ingest services (``PULSE_REDIS_URL``, ``PULSE_TOPIC_PREFIX``).

Posts older than 90 days are not polled: the schedule stops there
(:data:`pulse_shared.schedule.SCHEDULE`), and ``track`` refuses them, so that a schedule
rebuilt from the topic never polls every old post. They are counted and reported as
skipped; their numbers stay those of their last poll.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import cast

from pulse_cli.connections import (
    connect_database,
    connect_redis,
    progress_bar,
    require_business,
)
from pulse_shared.events import Platform
from pulse_shared.ingest.contracts import TrackedPost
from pulse_shared.ingest.tracking import PollSchedule, schedule_key_prefix
from pulse_shared.schedule import poll_interval
from pulse_shared.settings import PulseSettings

# Posts handled per Redis round trip of poll_soon.
CHUNK = 500

# published_at within the range's local calendar days (the business's time zone), the
# days DESIGN.md periods are made of; ``until`` is inclusive.
POSTS_IN_RANGE = """
SELECT p.platform, p.platform_post_id, p.account_id, p.published_at, p.content_type
FROM published_posts p JOIN businesses b ON b.id = p.business_id
WHERE p.business_id = $1
  AND p.published_at >= $2::date::timestamp AT TIME ZONE b.timezone
  AND p.published_at < ($3::date + 1)::timestamp AT TIME ZONE b.timezone
  AND ($4::text IS NULL OR p.platform = $4::text)
ORDER BY p.platform, p.published_at
"""


@dataclass
class BackfillReport:
    posts: int = 0
    newly_tracked: int = 0  # were not on the schedule: due now
    moved: int = 0  # were on it: their next poll moved to now
    already_due: int = 0  # due already, or being polled (the wish is kept)
    too_old: int = 0  # past the 90 days the schedule polls: skipped


async def backfill(
    settings: PulseSettings,
    business_id: int,
    since: date,
    until: date,
    platform: Platform | None,
    now: datetime | None = None,
) -> BackfillReport:
    conn = await connect_database(settings)
    try:
        await require_business(conn, business_id)
        rows = await conn.fetch(POSTS_IN_RANGE, business_id, since, until, platform)
    finally:
        await conn.close()
    redis = await connect_redis(settings)
    schedule = PollSchedule(redis, key_prefix=schedule_key_prefix(settings.topic_prefix))
    at = now or datetime.now(UTC)
    report = BackfillReport(posts=len(rows))
    already_tracked: dict[str, list[str]] = defaultdict(list)
    try:
        with progress_bar() as progress:
            task = progress.add_task("scheduling posts", total=len(rows) * 2)
            for row in rows:
                post = TrackedPost(
                    business_id=business_id,
                    platform=cast(Platform, row["platform"]),
                    platform_post_id=row["platform_post_id"],
                    account_id=row["account_id"],
                    published_at=row["published_at"],
                    content_type=row["content_type"],
                )
                if poll_interval(at - post.published_at) is None:
                    report.too_old += 1
                    progress.advance(task, 2)
                elif await schedule.track(post, now=at):
                    report.newly_tracked += 1
                    progress.advance(task, 2)
                else:
                    already_tracked[post.platform].append(post.platform_post_id)
                    progress.advance(task)
            for tracked_platform, ids in already_tracked.items():
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start : start + CHUNK]
                    report.moved += await schedule.poll_soon(tracked_platform, chunk, now=at)
                    progress.advance(task, len(chunk))
    finally:
        await redis.aclose()
    report.already_due = sum(len(ids) for ids in already_tracked.values()) - report.moved
    return report
