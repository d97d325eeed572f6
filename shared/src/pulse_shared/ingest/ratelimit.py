"""Rate-limit budgets shared by every replica of an ingest service, kept in Redis.

A call first takes one unit from each budget that applies to it (per platform app, per
account, per endpoint), all or nothing, in one Lua script; then the platform's answer
may block a budget for a while (a 429's retry-after, X's ``x-rate-limit-remaining: 0``
until its reset, Meta's usage at 90 %). Budgets are counted on the Redis server's
clock, so replicas whose clocks differ still count the same windows (a test may hand the
limiter a clock of its own instead: then every "now", in Redis too, is that clock's).

Two window kinds:

- ``sliding``: a log of the calls of the last window (a sorted set of call times), so
  no span of ``window_s`` ever holds more than ``limit`` calls, whatever phase the
  platform's own window has. Memory follows the calls actually made, not the limit.
  X's 15-minute windows use it.
- ``fixed``: a counter per window aligned to the epoch, so a day's window runs from
  midnight UTC to midnight UTC, as LinkedIn's daily limits do.

Key formats (the ``{app}`` hash tag keeps one app's keys in one Redis Cluster slot, as
the script touches several; with a topic prefix, ``pulse:rl:<topic prefix>`` stands for
``pulse:rl``, see :func:`rate_limit_key_prefix`):

- ``pulse:rl:{app}:budget:app:<endpoint>:<window_s>``
- ``pulse:rl:{app}:budget:account:<endpoint>:<window_s>:<account_id>``
- ``pulse:rl:{app}:block:app:<endpoint or *>``: epoch ms until which calls wait
- ``pulse:rl:{app}:block:account:<endpoint or *>:<account_id>``
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from redis.asyncio import Redis

from pulse_shared.ingest.contracts import RateLimited, RateLimitState
from pulse_shared.ingest.metrics import (
    RATE_LIMIT_BLOCKS,
    RATE_LIMIT_REFUSALS,
    RATE_LIMIT_WAIT_SECONDS,
    RATE_LIMIT_WAITS,
)
from pulse_shared.logs import get_logger

log = get_logger(__name__)

Scope = Literal["app", "account"]
ALL_ENDPOINTS = "*"
# A block longer than this comes from a wrong header, not from the platform's rules
# (LinkedIn's daily limits reset within a day).
MAX_BLOCK_S = 26 * 3600


class Budget(BaseModel):
    """``limit`` calls per ``window_s`` seconds, per app or per account, for one endpoint
    (``*``: every endpoint without a budget of its own for this scope, each counted on
    its own). A limit of 0 switches the budget off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scope: Scope
    endpoint: str = ALL_ENDPOINTS
    limit: int = Field(ge=0)
    window_s: float = Field(gt=0)
    window: Literal["fixed", "sliding"] = "sliding"


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIFTEEN_MINUTES = 15 * 60.0
DAY = 24 * 3600.0

DEFAULT_BUDGETS: dict[str, tuple[Budget, ...]] = {
    # X: documented per 15 minutes, per app and per user.
    "twitter": (
        Budget(scope="app", endpoint="/2/tweets", limit=3500, window_s=FIFTEEN_MINUTES),
        Budget(scope="account", endpoint="/2/tweets", limit=5000, window_s=FIFTEEN_MINUTES),
        Budget(scope="app", endpoint="/2/users/:id", limit=300, window_s=FIFTEEN_MINUTES),
        Budget(scope="account", endpoint="/2/users/:id", limit=900, window_s=FIFTEEN_MINUTES),
    ),
    # LinkedIn: daily limits per app and per member, reset at midnight UTC, numbers not
    # published (the Developer Portal's Analytics tab shows an app's own): set them with
    # PULSE_RATE_LIMIT_BUDGETS. These are conservative placeholders.
    "linkedin": (
        Budget(scope="app", endpoint=ALL_ENDPOINTS, limit=100_000, window_s=DAY, window="fixed"),
        Budget(scope="account", endpoint=ALL_ENDPOINTS, limit=5_000, window_s=DAY, window="fixed"),
    ),
    # Meta: no fixed counts; the usage percentages of each response drive the pace.
    "meta": (),
}


# Whether a platform's "too many requests" concerns the endpoint called (X's and LinkedIn's
# limits are per endpoint / resource) or every call of the app or account (Meta's
# throttles: app, user, page). A RateLimited blocks accordingly.
THROTTLES_PER_ENDPOINT: dict[str, bool] = {"twitter": True, "linkedin": True, "meta": False}


def rate_limit_app(platform: str) -> str:
    """The app whose budgets a platform's calls spend (Facebook and Instagram: one Meta app)."""
    return "meta" if platform in ("facebook", "instagram", "meta") else platform


def rate_limit_key_prefix(topic_prefix: str) -> str:
    """The Redis key prefix of the budgets: scoped by the topic prefix, as the poll
    schedule's is, so a test run (or another deployment sharing a Redis) never spends or
    blocks a running stack's budgets."""
    return f"pulse:rl:{topic_prefix}" if topic_prefix else "pulse:rl"


def merge_budgets(defaults: Iterable[Budget], overrides: Iterable[Budget]) -> list[Budget]:
    """The defaults, with every (scope, endpoint) that an override names replaced by the
    overrides for it; budgets with limit 0 are dropped (switched off)."""
    overrides = list(overrides)
    replaced = {(b.scope, b.endpoint) for b in overrides}
    kept = [b for b in defaults if (b.scope, b.endpoint) not in replaced]
    return [b for b in (*kept, *overrides) if b.limit > 0]


# "Now" in the scripts: the epoch ms the caller passes (a limiter with a clock of its
# own), or '' for the Redis server's clock. Every expiry is an absolute time computed
# from that now, so keys live by the same clock that counts them.
NOW_SNIPPET = """
local function now_ms(given)
  if given ~= '' then return tonumber(given) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

# KEYS: the block keys (ARGV[1] of them), then one key per budget.
# ARGV: the number of block keys, '1' to only look (take nothing), a unique call id,
#       now in epoch ms or '' (the server's clock),
#       then per budget: kind ('fixed' | 'sliding'), limit, window in ms.
# Returns {1} when a unit was taken from every budget, else {0, ms to wait, the 1-based
# index of the key that makes the wait longest} and nothing is taken.
ACQUIRE_SCRIPT = (
    NOW_SNIPPET
    + """
local now = now_ms(ARGV[4])
local n_block = tonumber(ARGV[1])
local wait, binding = 0, 0
for i = 1, n_block do
  local until_ms = tonumber(redis.call('GET', KEYS[i]) or '0')
  if until_ms - now > wait then wait, binding = until_ms - now, i end
end
local windows = {}
for i = n_block + 1, #KEYS do
  local a = 5 + (i - n_block - 1) * 3
  local kind, limit, window = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local free_in = 0
  if kind == 'fixed' then
    local current = math.floor(now / window)
    local state = redis.call('HMGET', KEYS[i], 'w', 'n')
    local used = 0
    if tonumber(state[1]) == current then used = tonumber(state[2]) or 0 end
    if used >= limit then free_in = (current + 1) * window - now end
    windows[i] = current
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    local used = redis.call('ZCARD', KEYS[i])
    if used >= limit then
      -- the call whose leaving the window brings the count below the limit
      local freeing = redis.call('ZRANGE', KEYS[i], used - limit, used - limit, 'WITHSCORES')
      free_in = tonumber(freeing[2]) + window - now
    end
  end
  if free_in > wait then wait, binding = free_in, i end
end
if wait > 0 then return {0, math.ceil(wait), binding} end
if ARGV[2] == '1' then return {1} end
for i = n_block + 1, #KEYS do
  local a = 5 + (i - n_block - 1) * 3
  local window = tonumber(ARGV[a + 2])
  if ARGV[a] == 'fixed' then
    local current = windows[i]
    if tonumber(redis.call('HGET', KEYS[i], 'w')) == current then
      redis.call('HINCRBY', KEYS[i], 'n', 1)
    else
      redis.call('HSET', KEYS[i], 'w', string.format('%d', current), 'n', 1)
    end
    redis.call('PEXPIREAT', KEYS[i], string.format('%d', (current + 1) * window))
  else
    redis.call('ZADD', KEYS[i], now, ARGV[3])
    redis.call('PEXPIREAT', KEYS[i], string.format('%d', now + window))
  end
end
return {1}
"""
)

# KEYS[1]: a block key. ARGV[1]: for how many ms from now; ARGV[2]: now in epoch ms or ''
# (the server's clock). A block is only ever extended, so a short retry-after never cuts
# a longer one short.
BLOCK_SCRIPT = (
    NOW_SNIPPET
    + """
local now = now_ms(ARGV[2])
local until_ms = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then
  redis.call('SET', KEYS[1], string.format('%d', until_ms), 'PXAT', string.format('%d', until_ms))
end
return 1
"""
)

Clock = Callable[[], datetime]
"""Now, as an aware datetime."""
Sleep = Callable[[float], Awaitable[None]]
Jitter = Callable[[float, float], float]


class BudgetExhausted(RateLimited):
    """The shared budget would make this call wait longer than it may: given up without
    calling the platform (retry after ``retry_after_s``)."""


@dataclass(frozen=True)
class _Limit:
    key: str
    scope: Scope
    reason: str  # "blocked" or "budget"


class RateLimiter:
    """The budgets of one platform app, shared through Redis by every replica.

    Time, for tests: ``clock`` replaces the Redis server's clock (and the wall clock a
    platform's reset time is compared with), ``sleep`` how a wait is waited, ``jitter``
    the ``random.uniform`` that spreads waiting replicas. Production leaves all three.
    """

    def __init__(
        self,
        redis: Redis,
        app: str,
        budgets: Sequence[Budget] | None = None,
        *,
        max_wait_s: float = 60.0,
        usage_threshold_pct: float = 90.0,
        usage_pause_s: float = 300.0,
        throttles_per_endpoint: bool | None = None,
        key_prefix: str = "pulse:rl",
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Jitter = random.uniform,
    ) -> None:
        self.app = app
        self._clock = clock
        self._sleep = sleep
        self._jitter = jitter
        self._throttles_per_endpoint = (
            THROTTLES_PER_ENDPOINT.get(app, False)
            if throttles_per_endpoint is None
            else throttles_per_endpoint
        )
        self._redis = redis
        self._budgets = [
            b for b in (DEFAULT_BUDGETS.get(app, ()) if budgets is None else budgets) if b.limit
        ]
        self._max_wait_s = max_wait_s
        self._usage_threshold_pct = usage_threshold_pct
        self._usage_pause_s = usage_pause_s
        self._prefix = f"{key_prefix}:{{{app}}}"
        self._acquire = redis.register_script(ACQUIRE_SCRIPT)
        self._block = redis.register_script(BLOCK_SCRIPT)

    def budgets_for(self, endpoint: str) -> list[Budget]:
        """The endpoint's own budgets, and the ``*`` ones of scopes it has none of."""
        own = [b for b in self._budgets if b.endpoint == endpoint]
        covered = {b.scope for b in own}
        shared = [
            b for b in self._budgets if b.endpoint == ALL_ENDPOINTS and b.scope not in covered
        ]
        return own + shared

    def _block_key(self, scope: Scope, endpoint: str, account_id: str) -> str:
        key = f"{self._prefix}:block:{scope}:{endpoint}"
        return f"{key}:{account_id}" if scope == "account" else key

    def _limits(self, endpoint: str, account_id: str) -> tuple[list[_Limit], list[Budget]]:
        limits = [
            _Limit(self._block_key("app", ALL_ENDPOINTS, account_id), "app", "blocked"),
            _Limit(self._block_key("app", endpoint, account_id), "app", "blocked"),
            _Limit(self._block_key("account", ALL_ENDPOINTS, account_id), "account", "blocked"),
            _Limit(self._block_key("account", endpoint, account_id), "account", "blocked"),
        ]
        budgets = self.budgets_for(endpoint)
        for b in budgets:
            key = f"{self._prefix}:budget:{b.scope}:{endpoint}:{b.window_s:g}"
            if b.scope == "account":
                key = f"{key}:{account_id}"
            limits.append(_Limit(key, b.scope, "budget"))
        return limits, budgets

    def _now_arg(self) -> str:
        """Now for a script: the clock's epoch ms, or '' for the Redis server's clock."""
        if self._clock is None:
            return ""
        return str((self._clock() - EPOCH) // timedelta(milliseconds=1))

    def _now(self) -> datetime:
        return datetime.now(UTC) if self._clock is None else self._clock()

    async def _try(
        self, endpoint: str, account_id: str, *, look_only: bool
    ) -> tuple[float, _Limit | None]:
        limits, budgets = self._limits(endpoint, account_id)
        args: list[str | int] = [4, "1" if look_only else "0", uuid.uuid4().hex, self._now_arg()]
        for b in budgets:
            args += [b.window, b.limit, round(b.window_s * 1000)]
        answer = await self._acquire(keys=[limit.key for limit in limits], args=args)
        if int(answer[0]) == 1:
            return 0.0, None
        return int(answer[1]) / 1000, limits[int(answer[2]) - 1]

    async def wait_needed(self, endpoint: str, account_id: str) -> float:
        """Seconds before a call could take its budgets (0: now); takes nothing."""
        wait_s, _ = await self._try(endpoint, account_id, look_only=True)
        return wait_s

    async def acquire(
        self, endpoint: str, account_id: str, *, max_wait_s: float | None = None
    ) -> float:
        """Take one unit of every budget of this call, waiting while one is spent or
        blocked. Raises :class:`BudgetExhausted` (a :class:`RateLimited`) at once when the
        wait would go beyond ``max_wait_s``. Returns the seconds waited."""
        most = self._max_wait_s if max_wait_s is None else max_wait_s
        waited = 0.0
        while True:
            wait_s, binding = await self._try(endpoint, account_id, look_only=False)
            if binding is None:
                if waited:
                    RATE_LIMIT_WAIT_SECONDS.labels(self.app).observe(waited)
                return waited
            if waited + wait_s > most:
                RATE_LIMIT_REFUSALS.labels(self.app, endpoint).inc()
                raise BudgetExhausted(
                    wait_s, binding.scope, f"{binding.reason} {endpoint} for {self.app}"
                )
            RATE_LIMIT_WAITS.labels(self.app, endpoint, binding.reason).inc()
            # Replicas waiting for the same window would all wake at the same
            # millisecond: a little jitter spreads them.
            pause = min(wait_s + self._jitter(0, min(1.0, 0.05 + wait_s / 10)), most - waited)
            await self._sleep(pause)
            waited += pause

    async def block(
        self,
        scope: Scope,
        account_id: str,
        delay_s: float,
        *,
        endpoint: str = ALL_ENDPOINTS,
        cause: str = "rate_limited",
    ) -> None:
        """No call of this scope (and endpoint, ``*``: all) before ``delay_s`` from now."""
        delay_ms = round(min(max(delay_s, 0.0), MAX_BLOCK_S) * 1000)
        if delay_ms <= 0:
            return
        RATE_LIMIT_BLOCKS.labels(self.app, scope, cause).inc()
        log.info(
            "rate limit block",
            app=self.app,
            scope=scope,
            endpoint=endpoint,
            account_id=account_id if scope == "account" else None,
            seconds=delay_ms / 1000,
            cause=cause,
        )
        await self._block(
            keys=[self._block_key(scope, endpoint, account_id)], args=[delay_ms, self._now_arg()]
        )

    async def rate_limited(self, error: RateLimited, *, endpoint: str, account_id: str) -> None:
        """The platform said "too many requests": block what it concerns for as long as
        it said (the endpoint, or every call, of the app or the account)."""
        await self.block(
            "account" if error.scope == "account" else "app",
            account_id,
            error.retry_after_s,
            endpoint=endpoint if self._throttles_per_endpoint else ALL_ENDPOINTS,
            cause="rate_limited",
        )

    async def record(self, state: RateLimitState, *, endpoint: str, account_id: str) -> None:
        """Act on what a response said about the budget left, for the account whose token
        the call used (the headers describe that token's budgets; an app-wide throttle
        comes as an error, RateLimited with scope app).

        - ``remaining`` 0 (X): the endpoint's budget is spent until ``reset_at``.
        - ``usage_pct`` at or above the threshold (Meta): the account's calls pause, for
          ``regain_after_s`` if the platform gives a longer wait.
        - ``regain_after_s`` alone: the account waits that long.

        The last two hold for every endpoint of the account, or only for the one called
        on platforms whose limits are per endpoint (THROTTLES_PER_ENDPOINT).
        """
        if state.remaining is not None and state.remaining <= 0:
            reset_in = 1.0  # a reset already past (clocks differ): a short pause
            if state.reset_at is not None:
                reset_in = max(reset_in, (state.reset_at - self._now()).total_seconds())
            await self.block("account", account_id, reset_in, endpoint=endpoint, cause="remaining")
        usage_high = state.usage_pct is not None and state.usage_pct >= self._usage_threshold_pct
        regain_s = state.regain_after_s or 0.0
        if usage_high or regain_s > 0:
            pause = max(regain_s, self._usage_pause_s if usage_high else 0.0)
            await self.block(
                "account",
                account_id,
                pause,
                endpoint=endpoint if self._throttles_per_endpoint else ALL_ENDPOINTS,
                cause="usage" if usage_high else "regain",
            )
