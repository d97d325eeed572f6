"""The HTTP caller against a real HTTP server that answers scripted statuses and headers,
with rate limits in the real Redis and a minimal PlatformRules.

The rate limiters count and wait on a ManualClock (see test_ingest_ratelimit.py): a
rate-limit wait is asserted exactly and takes no real time. HTTP timeouts stay real: a
reply that must time out never comes, and every other reply has a generous timeout that
only guards against a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from pulse_shared.ingest.caller import REFUSED_TOKEN_MEMORY, HttpApiCaller
from pulse_shared.ingest.contracts import (
    Account,
    ApiCaller,
    ApiError,
    PermanentError,
    RateLimited,
    RateLimitState,
    TokenInvalid,
    TokenRefusedEarlier,
    TransientError,
)
from pulse_shared.ingest.ratelimit import Budget, BudgetExhausted, RateLimiter
from pulse_shared.testing import ManualClock
from pulse_testing.infra import Infra
from pulse_testing.processes import free_port
from pulse_testing.waiting import eventually

pytestmark = pytest.mark.integration

TOKEN = "bearer-token-that-must-never-be-logged"
ACCOUNT = Account(42, "twitter", "2244994945", TOKEN)
# The limiters' now: a whole second far in the future, so no key the test writes expires
# (on that clock) while it runs; the key_prefix fixture deletes them afterwards.
START = datetime(2100, 1, 1, tzinfo=UTC)
JITTER_SEED = 11


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"data": []}'
    stall: bool = False  # never answer (until the server stops): the client times out


@dataclass
class Seen:
    target: str
    headers: dict[str, str]


class ScriptedServer:
    """HTTP/1.1 on a free port: answers the scripted replies in order (then 200s), one
    request per connection, and records what it was sent."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.seen: list[Seen] = []
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._stopping = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *header_lines = head.split("\r\n")
            headers = dict(
                (name.lower(), value)
                for name, value in (h.split(": ", 1) for h in header_lines if h)
            )
            self.seen.append(Seen(request_line.split(" ")[1], headers))
            reply = self.replies.pop(0) if self.replies else Reply()
            if reply.stall:
                await self._stopping.wait()
                return
            extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
            writer.write(
                f"HTTP/1.1 {reply.status} Scripted\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(reply.body)}\r\nConnection: close\r\n{extra}\r\n".encode()
                + reply.body
            )
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()


class MinimalRules:
    """X-like: 401 token dead, 429 with retry-after, 5xx transient, other 4xx permanent;
    x-rate-limit-* headers."""

    platform = "twitter"

    def error_of(self, response: httpx.Response) -> ApiError | None:
        status = response.status_code
        if status == 401:
            return TokenInvalid("HTTP 401")
        if status == 429:
            return RateLimited(float(response.headers.get("retry-after", "60")), "account")
        if status >= 500:
            return TransientError(f"HTTP {status}")
        if status >= 400:
            return PermanentError(f"HTTP {status}")
        return None

    def rate_limit_state(self, response: httpx.Response) -> RateLimitState:
        h = response.headers
        if "x-rate-limit-remaining" not in h:
            return RateLimitState()
        return RateLimitState(
            remaining=int(h["x-rate-limit-remaining"]),
            limit=int(h["x-rate-limit-limit"]),
            reset_at=datetime.fromtimestamp(int(h["x-rate-limit-reset"]), UTC),
        )


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    await scripted.start()
    try:
        yield scripted
    finally:
        await scripted.stop()


@pytest.fixture
async def redis(infra: Infra) -> AsyncIterator[Redis]:
    client = Redis.from_url(infra.redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def key_prefix(redis: Redis) -> AsyncIterator[str]:
    """The test's own rate-limit keys, deleted afterwards."""
    prefix = f"test-{secrets.token_hex(4)}:rl"
    yield prefix
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


@pytest.fixture
def clock() -> ManualClock:
    """The rate limiters' clock; their waits advance it."""
    return ManualClock(START)


def first_jitter(wait_s: float) -> float:
    """The jitter a limiter adds to its first wait (seeded as make_caller seeds it)."""
    return random.Random(JITTER_SEED).uniform(0, min(1.0, 0.05 + wait_s / 10))


def make_caller(
    redis: Redis,
    key_prefix: str,
    base_url: str,
    clock: ManualClock,
    *,
    budgets: list[Budget] | None = None,
    max_attempts: int = 3,
    timeout_s: float = 30.0,
    **options: object,
) -> HttpApiCaller:
    limiter = RateLimiter(
        redis,
        "twitter",
        budgets or [],
        key_prefix=key_prefix,
        max_wait_s=5,
        clock=clock.now,
        sleep=clock.sleep,
        jitter=random.Random(JITTER_SEED).uniform,
    )
    return HttpApiCaller(
        MinimalRules(),
        limiter,
        base_url=base_url,
        timeout_s=timeout_s,
        max_attempts=max_attempts,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
        clock=clock.now,
        **options,  # type: ignore[arg-type]
    )


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_5xx_is_retried_with_backoff_until_an_answer(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    server.replies = [Reply(503), Reply(502), Reply(200, body=b'{"data": [1]}')]
    retries = counted("pulse_ingest_api_retries_total", platform="twitter", endpoint="/2/tweets")
    async with make_caller(redis, key_prefix, server.url, clock) as caller:
        api: ApiCaller = caller  # the contract's protocol
        response = await api.get(
            "/2/tweets", account=ACCOUNT, endpoint="/2/tweets", params={"ids": "1,2"}
        )
    assert response.json() == {"data": [1]}
    assert [s.target for s in server.seen] == ["/2/tweets?ids=1%2C2"] * 3
    assert all(s.headers["authorization"] == f"Bearer {TOKEN}" for s in server.seen)
    assert (
        counted("pulse_ingest_api_retries_total", platform="twitter", endpoint="/2/tweets")
        == retries + 2
    )
    assert (
        counted(
            "pulse_ingest_api_requests_total",
            platform="twitter",
            endpoint="/2/tweets",
            status="503",
        )
        >= 1
    )


async def test_retries_are_bounded(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    server.replies = [Reply(500)] * 5
    async with make_caller(redis, key_prefix, server.url, clock, max_attempts=3) as caller:
        with pytest.raises(TransientError):
            await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
    assert len(server.seen) == 3


async def test_timeouts_and_refused_connections_are_transient(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    # Replies that never come: every attempt times out, however fast or slow the machine,
    # and each timeout is retried.
    server.replies = [Reply(stall=True), Reply(stall=True)]
    async with make_caller(
        redis, key_prefix, server.url, clock, timeout_s=0.2, max_attempts=2
    ) as caller:
        with pytest.raises(TransientError, match="Timeout"):
            await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
    assert len(server.seen) == 2

    nobody = f"http://127.0.0.1:{free_port()}"
    async with make_caller(redis, key_prefix, nobody, clock, max_attempts=2) as caller:
        with pytest.raises(TransientError, match="ConnectError"):
            await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")


class CancelledAsFailedConnect(httpx.AsyncHTTPTransport):
    """What a network library may do with a task cancelled mid-request: report the
    connection as failed instead of letting the cancellation through."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except asyncio.CancelledError:
            raise httpx.ConnectError("All connection attempts failed") from None


async def test_a_cancelled_call_stops_even_when_reported_as_a_failed_connection(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    """A service shutting down cancels its loops: a call in flight then stops, and is not
    retried as a transient failure (the loop would outlive the shutdown)."""
    server.replies = [Reply(stall=True)] * 3
    transport = CancelledAsFailedConnect()
    async with make_caller(redis, key_prefix, server.url, clock, transport=transport) as caller:
        call = asyncio.create_task(caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets"))

        async def in_flight() -> bool:
            return bool(server.seen)

        await eventually(in_flight, interval=0.01)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(call, 10)  # a deadline against a hang only
    assert len(server.seen) == 1  # not retried


async def test_other_4xx_is_not_retried(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    server.replies = [Reply(404)]
    async with make_caller(redis, key_prefix, server.url, clock) as caller:
        with pytest.raises(PermanentError):
            await caller.get("/2/users/1", account=ACCOUNT, endpoint="/2/users/:id")
    assert len(server.seen) == 1


async def test_a_429_is_honoured_by_the_next_call_on_any_replica(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    server.replies = [Reply(429, headers={"retry-after": "1"}), Reply(200)]
    async with (
        make_caller(redis, key_prefix, server.url, clock) as first,
        make_caller(redis, key_prefix, server.url, clock) as second,
    ):
        with pytest.raises(RateLimited) as limited:
            await first.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
        assert limited.value.retry_after_s == 1
        assert len(server.seen) == 1  # a RateLimited is not retried at once
        # Another replica waits for the same block before it sends anything.
        assert await second.limiter.wait_needed("/2/tweets", ACCOUNT.account_id) == 1
        assert clock.slept == []
        response = await second.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
        assert response.status_code == 200
        assert clock.slept == [1 + first_jitter(1)]
    assert len(server.seen) == 2


async def test_a_wait_beyond_the_maximum_gives_up_without_calling(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    budgets = [Budget(scope="account", endpoint="/2/tweets", limit=1, window_s=60)]
    async with make_caller(redis, key_prefix, server.url, clock, budgets=budgets) as caller:
        await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
        with pytest.raises(BudgetExhausted):
            await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
    assert len(server.seen) == 1


async def test_x_headers_saying_no_budget_left_block_the_endpoint(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    reset = int(clock.now().timestamp()) + 30
    server.replies = [
        Reply(
            200,
            headers={
                "x-rate-limit-limit": "900",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset),
            },
        )
    ]
    async with make_caller(redis, key_prefix, server.url, clock) as caller:
        await caller.get("/2/users/1", account=ACCOUNT, endpoint="/2/users/:id")
        assert await caller.limiter.wait_needed("/2/users/:id", ACCOUNT.account_id) == 30
        assert await caller.limiter.wait_needed("/2/tweets", ACCOUNT.account_id) == 0


async def test_a_dead_token_is_reported_once_and_never_retried(
    server: ScriptedServer, redis: Redis, key_prefix: str, clock: ManualClock
) -> None:
    reported: list[tuple[Account, str]] = []

    async def on_token_invalid(account: Account, reason: str) -> None:
        reported.append((account, reason))

    server.replies = [Reply(401), Reply(200), Reply(200)]
    async with make_caller(
        redis, key_prefix, server.url, clock, on_token_invalid=on_token_invalid
    ) as caller:
        with pytest.raises(TokenInvalid):
            await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
        # The same dead token again: refused here, the platform is not asked.
        clock.advance(REFUSED_TOKEN_MEMORY.total_seconds() - 1)
        with pytest.raises(TokenRefusedEarlier):
            await caller.get("/2/users/1", account=ACCOUNT, endpoint="/2/users/:id")
        # A reconnected account's new token is used.
        fresh = Account(42, "twitter", "2244994945", "a-new-token")
        await caller.get("/2/tweets", account=fresh, endpoint="/2/tweets")
        assert len(server.seen) == 2
        # A reconnection may bring the same token back (Meta's Page tokens): after a
        # while the platform is asked again.
        clock.advance(1)
        await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
    assert len(server.seen) == 3
    assert reported == [(ACCOUNT, "HTTP 401")]


async def test_the_token_is_never_logged(
    server: ScriptedServer,
    redis: Redis,
    key_prefix: str,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server.replies = [Reply(503), Reply(429, headers={"retry-after": "0.3"}), Reply(401)]
    with structlog.testing.capture_logs() as logs:
        async with make_caller(redis, key_prefix, server.url, clock) as caller:
            with pytest.raises(RateLimited) as limited:
                await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
            clock.advance(0.3)  # the retry-after is over
            with pytest.raises(TokenInvalid) as dead:
                await caller.get("/2/tweets", account=ACCOUNT, endpoint="/2/tweets")
            assert clock.slept == []  # the block was over: no wait
    assert logs  # the retry and the block were logged
    assert TOKEN not in repr(logs)
    assert TOKEN not in caplog.text
    for error in (limited.value, dead.value):
        assert TOKEN not in repr(error)
        assert TOKEN not in str(error)
