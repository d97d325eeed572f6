"""Rate-limit budgets in the real Redis, shared by two limiters (= two replicas).

Both limiters count on one ManualClock instead of the Redis server's clock, and wait on
it: "now" stands still unless a test moves it, so every wait is asserted exactly, at any
hour and however slow the machine. The clock starts far in the future, so the keys'
expiry times (absolute, on that clock) never fall while a test runs; the fixture deletes
the keys afterwards.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from pulse_shared.ingest.contracts import RateLimited, RateLimitState
from pulse_shared.ingest.ratelimit import (
    DEFAULT_BUDGETS,
    Budget,
    BudgetExhausted,
    RateLimiter,
    merge_budgets,
    rate_limit_app,
)
from pulse_shared.testing import ManualClock
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration

Replicas = Callable[..., tuple[RateLimiter, RateLimiter]]


@pytest.fixture
async def redis_pair(infra: Infra) -> AsyncIterator[tuple[Redis, Redis]]:
    """Two connections, as two replicas of a service would have."""
    first, second = Redis.from_url(infra.redis_url), Redis.from_url(infra.redis_url)
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


# A whole second, far in the future: Redis expires no key of a test while it runs.
START = datetime(2100, 1, 1, tzinfo=UTC)
JITTER_SEED = 7


def first_jitter(wait_s: float) -> float:
    """The jitter a limiter adds to its first wait of ``wait_s``: its documented range,
    drawn from a generator seeded as the fixture seeds each limiter's."""
    return random.Random(JITTER_SEED).uniform(0, min(1.0, 0.05 + wait_s / 10))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def prefix() -> str:
    """The test's own keys."""
    return f"test-{secrets.token_hex(4)}:rl"


@pytest.fixture
async def replicas(
    redis_pair: tuple[Redis, Redis], clock: ManualClock, prefix: str
) -> AsyncIterator[Replicas]:
    """Two limiters of one app over the test's own keys, on the test's clock."""

    def make(
        budgets: list[Budget],
        app: str = "twitter",
        usage_threshold_pct: float = 90.0,
        usage_pause_s: float = 300.0,
        server_clock: bool = False,
    ) -> tuple[RateLimiter, RateLimiter]:
        """``server_clock``: as in production, on the Redis server's clock."""
        first, second = (
            RateLimiter(
                redis,
                app,
                budgets,
                usage_threshold_pct=usage_threshold_pct,
                usage_pause_s=usage_pause_s,
                key_prefix=prefix,
                clock=None if server_clock else clock.now,
                sleep=asyncio.sleep if server_clock else clock.sleep,
                jitter=random.Random(JITTER_SEED).uniform,
            )
            for redis in redis_pair
        )
        return first, second

    yield make
    keys = [key async for key in redis_pair[0].scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis_pair[0].delete(*keys)


def waits_counted(app: str, endpoint: str, reason: str) -> float:
    labels = {"platform": app, "endpoint": endpoint, "reason": reason}
    return REGISTRY.get_sample_value("pulse_ingest_rate_limit_waits_total", labels) or 0.0


async def test_sliding_window_is_shared_and_waits_for_the_oldest_call(
    replicas: Replicas, clock: ManualClock
) -> None:
    a, b = replicas([Budget(scope="app", endpoint="/2/tweets", limit=5, window_s=1.0)])
    for limiter in (a, b, a, b):
        assert await limiter.acquire("/2/tweets", "acct-1") == 0.0
    clock.advance(0.2)
    assert await a.acquire("/2/tweets", "acct-1") == 0.0

    # The sixth call of the window, on either replica, is over the budget until the
    # oldest call leaves the window: 1 s after it.
    clock.advance(0.3)
    with pytest.raises(BudgetExhausted) as refused:
        await b.acquire("/2/tweets", "acct-2", max_wait_s=0)
    assert refused.value.retry_after_s == 0.5
    assert refused.value.scope == "app"
    assert isinstance(refused.value, RateLimited)

    before = waits_counted("twitter", "/2/tweets", "budget")
    waited = await b.acquire("/2/tweets", "acct-2", max_wait_s=5)
    assert clock.slept == [waited] == [0.5 + first_jitter(0.5)]
    assert waits_counted("twitter", "/2/tweets", "budget") >= before + 1
    # The window now holds the call made at +0.2 s and this one: three more fit.
    for limiter in (a, b, a):
        assert await limiter.acquire("/2/tweets", "acct-3", max_wait_s=0) == 0.0
    with pytest.raises(BudgetExhausted):
        await b.acquire("/2/tweets", "acct-3", max_wait_s=0)


async def test_fixed_window_waits_for_the_next_window(
    replicas: Replicas, clock: ManualClock
) -> None:
    a, b = replicas(
        [Budget(scope="app", endpoint="/rest/x", limit=2, window_s=1.0, window="fixed")],
        app="linkedin",
    )
    clock.advance(0.25)
    await a.acquire("/rest/x", "acct")
    await b.acquire("/rest/x", "acct")
    # Windows are aligned to the epoch: the wait ends at the next whole second.
    assert await a.wait_needed("/rest/x", "acct") == 0.75
    clock.advance(0.749)
    assert await a.wait_needed("/rest/x", "acct") == 0.001
    clock.advance(0.001)
    assert await b.acquire("/rest/x", "acct", max_wait_s=0) == 0.0


async def test_a_daily_window_ends_at_midnight_utc(replicas: Replicas, clock: ManualClock) -> None:
    """LinkedIn's daily limits reset at midnight UTC, whatever the process's time zone."""
    (a, _) = replicas(
        [Budget(scope="account", limit=1, window_s=24 * 3600, window="fixed")], app="linkedin"
    )
    clock.advance(-2.5)  # 31 Dec 2099, 23:59:57.5 UTC
    await a.acquire("/rest/x", "m1")
    assert await a.wait_needed("/rest/x", "m1") == 2.5
    clock.advance(2.5)
    assert await a.acquire("/rest/x", "m1", max_wait_s=0) == 0.0
    assert await a.wait_needed("/rest/x", "m1") == 24 * 3600


async def test_production_counts_on_the_redis_servers_clock(
    replicas: Replicas, redis_pair: tuple[Redis, Redis], prefix: str
) -> None:
    """Without a clock of its own, a limiter counts and expires on the server's TIME (the
    lower bounds hold unless the test hangs for a minute)."""
    hour, minute = 3600.0, 60.0
    a, b = replicas(
        [
            Budget(scope="app", endpoint="/s", limit=1, window_s=hour),
            Budget(scope="app", endpoint="/f", limit=1, window_s=hour, window="fixed"),
        ],
        server_clock=True,
    )
    for endpoint in ("/s", "/f"):
        await a.acquire(endpoint, "acct")
        with pytest.raises(BudgetExhausted) as refused:
            await b.acquire(endpoint, "acct", max_wait_s=0)
        # sliding: an hour after the call; fixed: at the server's next whole hour
        lowest = hour - minute if endpoint == "/s" else 0
        assert lowest < refused.value.retry_after_s <= hour
    await a.block("app", "acct", hour, endpoint="/b")
    assert hour - minute < await b.wait_needed("/b", "acct") <= hour
    # Every key expires when its window or block ends, on the server's clock.
    keys = sorted([key async for key in redis_pair[0].scan_iter(match=f"{prefix}:*")])
    assert [key.decode().split(":")[3:5] for key in keys] == [
        ["block", "app"],
        ["budget", "app"],
        ["budget", "app"],
    ]
    for key in keys:
        assert 0 < await redis_pair[0].pttl(key) <= hour * 1000


async def test_account_budgets_count_each_account_and_endpoint_apart(replicas: Replicas) -> None:
    a, b = replicas([Budget(scope="account", endpoint="*", limit=1, window_s=60)])
    await a.acquire("/one", "acct-1")
    with pytest.raises(BudgetExhausted) as refused:
        await b.acquire("/one", "acct-1", max_wait_s=1)
    assert refused.value.scope == "account"
    assert refused.value.retry_after_s == 60
    await b.acquire("/one", "acct-2", max_wait_s=0)  # another account
    await b.acquire("/two", "acct-1", max_wait_s=0)  # another endpoint


async def test_an_all_or_nothing_take_leaves_the_other_budgets_untouched(
    replicas: Replicas,
) -> None:
    a, _ = replicas(
        [
            Budget(scope="app", endpoint="/e", limit=10, window_s=60),
            Budget(scope="account", endpoint="/e", limit=1, window_s=60),
        ]
    )
    await a.acquire("/e", "acct-1")
    for _ in range(3):  # refused by the account budget: the app budget is not spent
        with pytest.raises(BudgetExhausted):
            await a.acquire("/e", "acct-1", max_wait_s=0)
    for n in range(9):
        await a.acquire("/e", f"acct-{n + 2}", max_wait_s=0)
    with pytest.raises(BudgetExhausted) as refused:
        await a.acquire("/e", "acct-99", max_wait_s=0)
    assert refused.value.scope == "app"


async def test_a_429_blocks_every_replica_until_retry_after(
    replicas: Replicas, clock: ManualClock
) -> None:
    a, b = replicas([], app="twitter")  # X: a throttle concerns one endpoint
    await a.rate_limited(RateLimited(0.6, "account"), endpoint="/2/tweets", account_id="acct")
    assert await b.wait_needed("/2/tweets", "acct") == 0.6
    assert await b.wait_needed("/2/users/:id", "acct") == 0
    assert await b.wait_needed("/2/tweets", "other-acct") == 0
    with pytest.raises(BudgetExhausted):
        await b.acquire("/2/tweets", "acct", max_wait_s=0.1)
    assert clock.slept == []  # refused at once, without waiting
    before = waits_counted("twitter", "/2/tweets", "blocked")
    waited = await b.acquire("/2/tweets", "acct", max_wait_s=2)
    assert clock.slept == [waited] == [0.6 + first_jitter(0.6)]
    assert waits_counted("twitter", "/2/tweets", "blocked") >= before + 1
    assert await a.wait_needed("/2/tweets", "acct") == 0


async def test_an_app_throttle_on_meta_blocks_every_endpoint_and_account(
    replicas: Replicas,
) -> None:
    a, b = replicas([], app="meta")
    await a.rate_limited(RateLimited(30, "app"), endpoint="/insights", account_id="page-1")
    for endpoint, account in [("/insights", "page-1"), ("/post", "page-2")]:
        assert await b.wait_needed(endpoint, account) == 30


async def test_a_block_is_only_ever_extended(replicas: Replicas) -> None:
    a, b = replicas([])
    await a.block("app", "acct", 20)
    await b.block("app", "acct", 1)
    assert await a.wait_needed("/e", "acct") == 20


async def test_x_remaining_zero_blocks_the_endpoint_until_the_reset(
    replicas: Replicas, clock: ManualClock
) -> None:
    a, b = replicas([])
    reset_at = clock.now() + timedelta(seconds=5)
    await a.record(
        RateLimitState(remaining=0, limit=900, reset_at=reset_at), endpoint="/e", account_id="u1"
    )
    assert await b.wait_needed("/e", "u1") == 5
    assert await b.wait_needed("/other", "u1") == 0
    assert await b.wait_needed("/e", "u2") == 0
    # Budget left: nothing to do.
    await a.record(RateLimitState(remaining=3, reset_at=reset_at), endpoint="/f", account_id="u1")
    assert await b.wait_needed("/f", "u1") == 0


async def test_meta_usage_over_the_threshold_slows_the_account_down(replicas: Replicas) -> None:
    a, b = replicas([], app="meta", usage_threshold_pct=90, usage_pause_s=30)
    await a.record(RateLimitState(usage_pct=50), endpoint="/e", account_id="page-1")
    assert await b.wait_needed("/e", "page-1") == 0
    await a.record(RateLimitState(usage_pct=92), endpoint="/e", account_id="page-1")
    assert await b.wait_needed("/any", "page-1") == 30
    await a.record(
        RateLimitState(usage_pct=100, regain_after_s=120), endpoint="/e", account_id="page-2"
    )
    assert await b.wait_needed("/e", "page-2") == 120
    assert await b.wait_needed("/e", "page-3") == 0


async def test_a_regain_time_on_a_per_endpoint_platform_holds_that_endpoint(
    replicas: Replicas,
) -> None:
    a, b = replicas([], app="linkedin")
    await a.record(RateLimitState(regain_after_s=60), endpoint="/rest/x", account_id="m1")
    assert await b.wait_needed("/rest/x", "m1") == 60
    assert await b.wait_needed("/rest/y", "m1") == 0


def test_documented_defaults_and_overrides() -> None:
    assert rate_limit_app("instagram") == rate_limit_app("facebook") == "meta"
    tweets = {
        (b.scope, b.limit, b.window_s)
        for b in DEFAULT_BUDGETS["twitter"]
        if b.endpoint == "/2/tweets"
    }
    assert tweets == {("app", 3500, 900), ("account", 5000, 900)}
    users = {(b.scope, b.limit) for b in DEFAULT_BUDGETS["twitter"] if b.endpoint == "/2/users/:id"}
    assert users == {("app", 300), ("account", 900)}
    assert {b.window for b in DEFAULT_BUDGETS["linkedin"]} == {"fixed"}

    merged = merge_budgets(
        DEFAULT_BUDGETS["twitter"],
        [
            Budget(scope="app", endpoint="/2/tweets", limit=0, window_s=900),  # off
            Budget(scope="account", endpoint="/2/users/:id", limit=10, window_s=60),
        ],
    )
    assert {(b.scope, b.endpoint, b.limit) for b in merged} == {
        ("account", "/2/tweets", 5000),
        ("app", "/2/users/:id", 300),
        ("account", "/2/users/:id", 10),
    }


def test_an_endpoint_budget_takes_precedence_over_the_shared_one() -> None:
    limiter = RateLimiter(
        Redis(),  # never connected: only the budget selection is asked
        "linkedin",
        [
            Budget(scope="app", endpoint="*", limit=100, window_s=86400, window="fixed"),
            Budget(scope="app", endpoint="/rest/special", limit=5, window_s=86400),
            Budget(scope="account", endpoint="*", limit=10, window_s=86400, window="fixed"),
        ],
    )
    special = {(b.scope, b.limit) for b in limiter.budgets_for("/rest/special")}
    assert special == {("app", 5), ("account", 10)}
    assert {(b.scope, b.limit) for b in limiter.budgets_for("/rest/other")} == {
        ("app", 100),
        ("account", 10),
    }
