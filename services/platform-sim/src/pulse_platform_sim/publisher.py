"""``posts.published.v1`` for the simulated posts, as a publishing app would send them.

Event ids are derived from the post (uuid5), so publishing the population twice writes
the same events again: harmless on the compacted, post-keyed topic.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime

from aiokafka import AIOKafkaProducer

from pulse_platform_sim.population import Population, Post
from pulse_shared.events import PostPublished
from pulse_shared.kafka import make_producer, publish
from pulse_shared.settings import PulseSettings
from pulse_shared.topics import POSTS_PUBLISHED

EVENT_NAMESPACE = uuid.UUID("0b6f3f8e-2f4c-4a51-9d38-6a2f1c7e5b90")
BATCH = 200  # events in flight at once


def post_published(post: Post) -> PostPublished:
    return PostPublished(
        event_id=uuid.uuid5(EVENT_NAMESPACE, f"{post.platform}:{post.post_id}"),
        business_id=post.business_id,
        platform=post.platform,
        platform_post_id=post.post_id,
        account_id=post.account_id,
        published_at=post.published_at,
        content=post.content,
        content_type=post.content_type,
        platform_post_url=post.url,
        video_duration_s=post.video_duration_s,
    )


def posts_to_publish(
    population: Population, at: datetime, business_ids: Iterable[int] | None = None
) -> list[Post]:
    """The seeded posts already published at ``at`` and not deleted (of the given
    businesses, or all). Native posts (control API) are never announced."""
    wanted = set(business_ids) if business_ids is not None else None
    return [
        p
        for p in population.posts
        if p.published_at <= at
        and (wanted is None or p.business_id in wanted)
        and population.deleted_at(p.platform, p.post_id) is None
    ]


async def publish_population(
    population: Population,
    pulse: PulseSettings,
    at: datetime,
    business_ids: Iterable[int] | None = None,
    producer: AIOKafkaProducer | None = None,
) -> int:
    """Publish a ``posts.published.v1`` event for every post published by ``at``; returns
    how many. Uses ``producer`` if given (left running), else starts and stops one."""
    posts = posts_to_publish(population, at, business_ids)
    topic = pulse.topic(POSTS_PUBLISHED)
    own = producer is None
    active = producer or make_producer(pulse.kafka())
    if own:
        await active.start()
    try:
        for first in range(0, len(posts), BATCH):
            batch = posts[first : first + BATCH]
            await asyncio.gather(*(publish(active, topic, post_published(p)) for p in batch))
    finally:
        if own:
            await active.stop()
    return len(posts)
