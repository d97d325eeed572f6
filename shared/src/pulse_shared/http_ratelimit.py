"""Request rate limits that replicas share, at almost no cost per request.

Each limit is a quota of requests per fixed window (``600/60``: 600 a minute) per subject
(a token, a client address, a business). The count of a window lives in Redis, so every
replica sees every other's requests; but a replica does not ask Redis on every request:
it counts locally and adds its count to Redis every ``sync_every`` requests (a twentieth
of the quota) or every second, and learns the total in the same round trip. Over R
replicas a subject can so exceed its quota by at most R times ``sync_every`` before it is
refused. Libraries such as ``limits`` (slowapi) ask Redis once per request, a round trip
that would cost a quarter of a cached answer's time; hence this small one.

With Redis away, the limiter fails open (requests are allowed, counted locally only,
and the outage is logged once per second at most): readers keep working. A caller that
must fail closed (a refresh spends every tenant's platform budgets) uses ``claim_once``.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pulse_shared.http_limits import send_json
from pulse_shared.logs import get_logger

log = get_logger(__name__)

SYNC_INTERVAL_S = 1.0
# Subjects a replica remembers at once; past it the window's local counts start over
# (they are in Redis already, up to the last sync).
MAX_SUBJECTS = 50_000


@dataclass(frozen=True)
class Limit:
    """``quota`` requests per ``window_s`` seconds per subject, named for the headers."""

    name: str
    quota: int
    window_s: int

    @classmethod
    def parse(cls, name: str, text: str) -> Limit:
        """``"600/60"``: 600 requests per 60 seconds."""
        quota, _, window = text.partition("/")
        if not (quota.isdigit() and window.isdigit() and int(quota) >= 1 and int(window) >= 1):
            raise ValueError(f"rate limit {name!r} must be '<requests>/<seconds>', both >= 1")
        return cls(name, int(quota), int(window))

    @property
    def sync_every(self) -> int:
        return max(1, self.quota // 20)

    def policy(self) -> str:
        """The RateLimit-Policy item (draft-ietf-httpapi-ratelimit-headers-10)."""
        return f'"{self.name}";q={self.quota};w={self.window_s}'


@dataclass(frozen=True)
class Verdict:
    limit: Limit
    remaining: int
    reset_s: int  # seconds until the window ends

    @property
    def allowed(self) -> bool:
        return self.remaining >= 0

    def headers(self) -> dict[str, str]:
        """RateLimit and RateLimit-Policy (draft 10), and Retry-After when refused."""
        headers = {
            "RateLimit-Policy": self.limit.policy(),
            "RateLimit": f'"{self.limit.name}";r={max(self.remaining, 0)};t={self.reset_s}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_s)
        return headers


@dataclass
class _Window:
    index: int
    known: int = 0  # the total in Redis at the last sync, this replica's part included
    pending: int = 0  # counted here since
    synced_at: float = field(default=0.0)
    # One sync at a time per window: two in flight would both add the same pending count.
    syncing: bool = False


def _window_at(limit: Limit, now: float) -> tuple[int, int]:
    """The fixed window ``now`` falls in, and the whole seconds until it ends (at least 1)."""
    index = int(now // limit.window_s)
    return index, max(1, int((index + 1) * limit.window_s - now + 0.999))


def key_prefix(topic_prefix: str) -> str:
    """Scoped by the topic prefix, so a test session never shares a running stack's counts."""
    return f"pulse:http-rl:{topic_prefix}".rstrip(":.")


def subject_of_token(token: str) -> str:
    """A token is never written anywhere: its subject is a digest of it."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


class RateLimiter:
    def __init__(
        self,
        redis: Redis | None,
        key_prefix: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._redis_failed_at = float("-inf")

    async def hit(self, limit: Limit, subject: str, cost: int = 1) -> Verdict:
        """Count ``cost`` requests of ``subject`` unless that would pass the quota."""
        now = self._clock()
        index, reset_s = _window_at(limit, now)
        window = self._window(limit, subject, index)
        used = window.known + window.pending
        if used + cost > limit.quota:
            # Refused requests are not counted: a client that backs off gets through.
            return Verdict(limit, -1, reset_s)
        window.pending += cost
        due = window.pending >= limit.sync_every or now - window.synced_at >= SYNC_INTERVAL_S
        if due and not window.syncing:
            await self._sync(limit, subject, window, now)
        return Verdict(limit, limit.quota - (window.known + window.pending), reset_s)

    async def check(self, limit: Limit, subject: str) -> Verdict:
        """Whether ``subject`` is over its quota, counting nothing (for counts kept by
        ``hit`` after the fact, such as failed sign-ins)."""
        index, reset_s = _window_at(limit, self._clock())
        window = self._windows.get((limit.name, subject))
        used = window.known + window.pending if window and window.index == index else 0
        return Verdict(limit, limit.quota - used if used < limit.quota else -1, reset_s)

    def _window(self, limit: Limit, subject: str, index: int) -> _Window:
        key = (limit.name, subject)
        window = self._windows.get(key)
        if window is None or window.index != index:
            if len(self._windows) >= MAX_SUBJECTS:
                self._windows.clear()
            window = self._windows[key] = _Window(index)
        return window

    async def _sync(self, limit: Limit, subject: str, window: _Window, now: float) -> None:
        if self._redis is None or now - self._redis_failed_at < SYNC_INTERVAL_S:
            return
        key = f"{self._prefix}:{limit.name}:{window.index}:{subject}"
        pending = window.pending
        window.syncing = True
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incrby(key, pending)
                pipe.expire(key, limit.window_s * 2)
                total, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._redis_failed_at = now
            log.warning("rate limits counted locally: Redis unavailable", error=repr(exc))
            return
        finally:
            window.syncing = False
        window.pending -= pending  # what was counted meanwhile stays pending
        window.known = int(total)
        window.synced_at = now

    async def claim_once(self, key: str, value: str, ttl_s: int) -> str | None:
        """Store ``value`` under ``key`` for ``ttl_s`` unless something is there already:
        None when stored, else what was there. Raises when Redis is away (fail closed)."""
        if self._redis is None:
            raise RedisError("no Redis configured")
        full = f"{self._prefix}:{key}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(full, value, nx=True, ex=ttl_s)
            pipe.get(full)
            stored, current = await pipe.execute()
        if stored:
            return None
        return current.decode() if isinstance(current, bytes) else current

    async def release(self, key: str) -> None:
        if self._redis is not None:
            await self._redis.delete(f"{self._prefix}:{key}")


def client_address(
    peer: str | None,
    headers: Mapping[bytes, bytes] | Iterable[tuple[bytes, bytes]],
    trusted_proxies: frozenset[str],
) -> str:
    """The client's address: the peer's, or, when the peer is a trusted proxy (the
    dashboard's server, an ingress; an address or a network such as ``10.0.0.0/8``), the
    last address it appended to X-Forwarded-For."""
    if peer is None:
        return "unknown"
    if not _trusted(peer, trusted_proxies):
        return peer
    items = headers.items() if isinstance(headers, Mapping) else headers
    forwarded = [v for k, v in items if k == b"x-forwarded-for"]
    if not forwarded:
        return peer
    hops = [h.strip() for h in forwarded[-1].decode("latin-1").split(",") if h.strip()]
    return hops[-1][:64] if hops else peer


@functools.lru_cache(maxsize=4096)
def _trusted(peer: str, trusted_proxies: frozenset[str]) -> bool:
    if peer in trusted_proxies:
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(entry, strict=False)
        for entry in trusted_proxies
        if "/" in entry
    )


@dataclass(frozen=True)
class HttpLimits:
    """What a service limits: every request per client address; with ``token``, every
    bearer token's requests; with ``auth_failures``, an address's refused sign-ins (401)."""

    address: Limit
    token: Limit | None = None
    auth_failures: Limit | None = None
    trusted_proxies: frozenset[str] = frozenset()
    # The paths limited (one prefix, or several): the orchestrator's probes are not.
    path_prefix: str | tuple[str, ...] = "/"


async def refuse(send: Send, verdict: Verdict) -> None:
    detail = (
        f"rate limit {verdict.limit.name!r} reached ({verdict.limit.quota} per"
        f" {verdict.limit.window_s} s); retry in {verdict.reset_s} s"
    )
    await send_json(send, 429, {"detail": detail}, verdict.headers())


class RateLimits:
    """The ASGI middleware applying a service's ``HttpLimits``. The limiter and the limits
    are made at start-up and found on ``app.state.rate_limits`` (a ``(RateLimiter,
    HttpLimits)`` pair); without them (limits switched off) requests pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        configured = getattr(scope["app"].state, "rate_limits", None) if "app" in scope else None
        if scope["type"] != "http" or configured is None:
            await self.app(scope, receive, send)
            return
        limiter, limits = configured
        if not scope["path"].startswith(limits.path_prefix):
            await self.app(scope, receive, send)
            return
        peer = scope["client"][0] if scope.get("client") else None
        address = client_address(peer, scope["headers"], limits.trusted_proxies)
        if limits.auth_failures is not None:
            verdict = await limiter.check(limits.auth_failures, address)
            if not verdict.allowed:
                await refuse(send, verdict)
                return
        verdicts = [await limiter.hit(limits.address, address)]
        token = _bearer(scope["headers"]) if limits.token is not None else None
        if token is not None and limits.token is not None and verdicts[0].allowed:
            verdicts.append(await limiter.hit(limits.token, subject_of_token(token)))
        refused = next((v for v in verdicts if not v.allowed), None)
        if refused is not None:
            await refuse(send, refused)
            return
        if limits.auth_failures is None:
            await self.app(scope, receive, send)
            return
        failures = limits.auth_failures

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                await limiter.hit(failures, address)
            await send(message)

        await self.app(scope, receive, counting_send)


def _bearer(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None
