"""The poll schedule in the real Redis, shared by two replicas."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from pulse_shared.ingest.contracts import TrackedPost
from pulse_shared.ingest.tracking import PollSchedule, post_key, post_of_key
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def schedules(infra: Infra) -> AsyncIterator[tuple[PollSchedule, PollSchedule]]:
    """Two replicas' views (two connections) of a schedule of this test's own."""
    prefix = f"test-{secrets.token_hex(4)}:track"
    first, second = Redis.from_url(infra.redis_url), Redis.from_url(infra.redis_url)
    try:
        yield PollSchedule(first, prefix), PollSchedule(second, prefix)
    finally:
        await first.aclose()
        await second.aclose()


def post(
    n: int = 1, age: timedelta = timedelta(hours=2), business_id: int = 42, account: str = "a1"
) -> TrackedPost:
    return TrackedPost(
        business_id=business_id,
        platform="twitter",
        platform_post_id=f"18500000000000000{n:02d}",
        account_id=account,
        published_at=NOW - age,
    )


def test_a_member_round_trips_whatever_the_ids_hold() -> None:
    tricky = TrackedPost(
        business_id=2**62,
        platform="linkedin",
        platform_post_id='urn:li:share:1,"x"|é',
        account_id="urn:li:organization:9",
        published_at=datetime(2026, 11, 2, 9, 30, 15, tzinfo=UTC),
    )
    assert post_of_key(post_key(tricky)) == tricky
    assert post_of_key(post_key(tricky).encode()) == tricky


async def test_track_is_idempotent_and_the_first_poll_is_due_now(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, b = schedules
    p = post()
    assert await a.track(p, now=NOW) is True
    assert await b.track(p, now=NOW + timedelta(minutes=5)) is False
    assert await a.due_at(p) == NOW
    assert await b.tracked_post("twitter", p.platform_post_id) == p
    assert await a.overdue("twitter", now=NOW) == 1


async def test_posts_past_the_schedule_are_not_tracked(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, _ = schedules
    assert await a.track(post(age=timedelta(days=91)), now=NOW) is False
    assert await a.overdue("twitter", now=NOW) == 0


async def test_a_backfilled_post_past_the_schedule_is_polled_once(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, _ = schedules
    old = post(age=timedelta(days=90, minutes=1))
    assert await a.track(old, now=NOW, at_least_once=True) is True
    assert await a.due_at(old) == NOW
    (claimed,) = await a.claim_due("twitter", 10, 60, now=NOW)
    assert claimed == old
    assert await a.reschedule(old, NOW) is None  # polled: it leaves the schedule
    assert await a.due_at(old) is None


async def test_claim_due_gives_each_post_to_exactly_one_of_two_replicas(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, b = schedules
    posts = [post(n, business_id=1 + n // 100) for n in range(300)]
    for p in posts:
        await a.track(p, now=NOW)

    async def drain(schedule: PollSchedule) -> list[TrackedPost]:
        taken: list[TrackedPost] = []
        while batch := await schedule.claim_due("twitter", 7, lease_s=300, now=NOW):
            taken += batch
        return taken

    first, second = await asyncio.gather(drain(a), drain(b))
    assert first
    assert second
    assert len(first) + len(second) == len(posts)
    assert set(first) | set(second) == set(posts)
    assert await b.leased("twitter", now=NOW) == len(posts)
    assert await b.leased("twitter", now=NOW + timedelta(seconds=300)) == 0
    # Under lease: nobody gets them again, until the lease ends.
    assert await a.claim_due("twitter", 100, lease_s=300, now=NOW + timedelta(seconds=299)) == []
    again = await b.claim_due("twitter", 1000, lease_s=300, now=NOW + timedelta(seconds=301))
    assert set(again) == set(posts)


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (timedelta(hours=2), timedelta(minutes=15)),
        (timedelta(days=3), timedelta(hours=1)),
        (timedelta(days=30), timedelta(days=1)),
        (timedelta(days=89, hours=23), timedelta(days=1)),
    ],
)
async def test_reschedule_follows_the_age_of_the_post(
    schedules: tuple[PollSchedule, PollSchedule], age: timedelta, interval: timedelta
) -> None:
    a, b = schedules
    p = post(age=age)
    await a.track(p, now=NOW)
    [claimed] = await a.claim_due("twitter", 10, lease_s=60, now=NOW)
    assert claimed == p
    assert await a.leased("twitter", now=NOW) == 1
    assert await b.reschedule(claimed, polled_at=NOW) == NOW + interval
    assert await a.leased("twitter", now=NOW) == 0
    assert await b.due_at(p) == NOW + interval
    assert await a.claim_due("twitter", 10, lease_s=60, now=NOW + interval * 0.99) == []


async def test_a_post_past_90_days_is_untracked_after_its_poll(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, _ = schedules
    p = post(age=timedelta(days=89, hours=23))
    await a.track(p, now=NOW)
    assert await a.reschedule(p, polled_at=NOW + timedelta(hours=2)) is None
    assert await a.due_at(p) is None
    assert await a.tracked_post("twitter", p.platform_post_id) is None
    assert await a.posts_of_business(42, "twitter") == []


async def test_poll_soon_only_moves_a_poll_earlier(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, b = schedules
    p = post(age=timedelta(days=3))  # hourly
    await a.track(p, now=NOW)
    await a.claim_due("twitter", 10, lease_s=60, now=NOW)
    await a.reschedule(p, polled_at=NOW)
    assert await a.due_at(p) == NOW + timedelta(hours=1)

    assert await b.poll_soon("twitter", [p.platform_post_id], delay_s=60, now=NOW) == 1
    assert await a.due_at(p) == NOW + timedelta(seconds=60)
    # A burst of deliveries makes one poll: a later wish never postpones it.
    for later in (10, 30, 50):
        moment = NOW + timedelta(seconds=later)
        assert await b.poll_soon("twitter", [p.platform_post_id], delay_s=60, now=moment) == 0
    assert await a.due_at(p) == NOW + timedelta(seconds=60)
    assert await b.poll_soon("twitter", [p.platform_post_id], delay_s=0, now=NOW) == 1
    assert await a.due_at(p) == NOW
    # Posts not tracked are ignored.
    assert await b.poll_soon("twitter", ["unknown"], now=NOW) == 0
    assert await b.poll_soon("twitter", [], now=NOW) == 0


async def test_poll_soon_during_a_poll_waits_for_its_reschedule(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, b = schedules
    p = post(age=timedelta(days=3))
    await a.track(p, now=NOW)
    [claimed] = await a.claim_due("twitter", 10, lease_s=120, now=NOW)
    # A webhook arrives while replica a polls the post: replica b must not take it.
    soon = NOW + timedelta(seconds=10)
    assert await b.poll_soon("twitter", [p.platform_post_id], delay_s=5, now=soon) == 0
    assert await b.claim_due("twitter", 10, lease_s=120, now=soon + timedelta(seconds=5)) == []
    # The wish survives the reschedule: polled again then, not in an hour.
    assert await a.reschedule(claimed, polled_at=NOW + timedelta(seconds=20)) == soon + timedelta(
        seconds=5
    )
    again = await b.claim_due("twitter", 10, lease_s=120, now=NOW + timedelta(seconds=21))
    assert again == [p]


async def test_refresh_moves_every_post_of_the_business_on_the_platform(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, b = schedules
    mine = [post(n, age=timedelta(days=10), business_id=7) for n in range(3)]
    theirs = post(50, age=timedelta(days=10), business_id=8)
    for p in [*mine, theirs]:
        await a.track(p, now=NOW)
    await a.claim_due("twitter", 10, lease_s=60, now=NOW)
    for p in [*mine, theirs]:
        await a.reschedule(p, polled_at=NOW)  # daily

    assert await b.posts_of_business(7, "twitter") == sorted(mine, key=lambda p: p.platform_post_id)
    later = NOW + timedelta(hours=1)
    assert await b.refresh_business(7, "twitter", now=later) == 3
    assert set(await a.claim_due("twitter", 10, lease_s=60, now=later)) == set(mine)
    assert await b.refresh_business(99, "twitter", now=later) == 0


async def test_a_corrected_post_replaces_its_old_member(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, _ = schedules
    p = post()
    moved = TrackedPost(p.business_id, p.platform, p.platform_post_id, "a2", p.published_at)
    await a.track(p, now=NOW)
    await a.track(moved, now=NOW)
    assert await a.posts_of_business(42, "twitter") == [moved]
    assert await a.claim_due("twitter", 10, lease_s=60, now=NOW) == [moved]


async def test_untrack_forgets_the_post_everywhere(
    schedules: tuple[PollSchedule, PollSchedule],
) -> None:
    a, b = schedules
    p = post()
    await a.track(p, now=NOW)
    assert await b.untrack(p) is True
    assert await b.untrack(p) is False
    assert await a.claim_due("twitter", 10, lease_s=60, now=NOW) == []
    assert await a.posts_of_business(42, "twitter") == []
    assert await a.poll_soon("twitter", [p.platform_post_id], now=NOW) == 0
    # A reschedule arriving after the untrack (a poll that was running) does not revive it.
    assert await a.reschedule(p, polled_at=NOW) is None
    assert await a.due_at(p) is None
