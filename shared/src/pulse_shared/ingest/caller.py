"""The shared HTTP runtime every platform client calls its API through.

One :class:`HttpApiCaller` per platform holds one ``httpx.AsyncClient`` (connection
pooling) whose base URL comes from configuration, so a service reaches the real API or
the simulator with no code change. Each attempt of a call:

1. takes its rate-limit budgets (pulse_shared.ingest.ratelimit), waiting if needed, or
   gives up with RateLimited when the wait would be too long;
2. sends with the account's bearer token (the token goes into the request header and
   nowhere else: never a log field, never an exception message);
3. records what the response says about the budget left;
4. raises the error the platform's rules find in the response: RateLimited blocks the
   budget it names first; TokenInvalid is raised at once (and the account reported
   through ``on_token_invalid``); TransientError (5xx, timeouts, connection errors) is
   retried with exponential backoff and full jitter, a bounded number of times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from pulse_shared.background import stop_requested
from pulse_shared.ingest.contracts import (
    Account,
    ApiError,
    PlatformRules,
    RateLimited,
    TokenInvalid,
    TokenRefusedEarlier,
    TransientError,
)
from pulse_shared.ingest.metrics import API_ERRORS, API_REQUESTS, API_RETRIES
from pulse_shared.ingest.ratelimit import (
    DEFAULT_BUDGETS,
    RateLimiter,
    merge_budgets,
    rate_limit_app,
    rate_limit_key_prefix,
)
from pulse_shared.ingest.settings import IngestSettings
from pulse_shared.ingest.signing import retry_after_seconds
from pulse_shared.logs import get_logger

log = get_logger(__name__)

# How long a refused token is refused here without asking the platform again (the
# settings' refused_token_memory_s).
REFUSED_TOKEN_MEMORY = timedelta(seconds=60)

TokenInvalidHandler = Callable[[Account, str], Awaitable[Any]]


def generic_error(response: httpx.Response) -> ApiError | None:
    """What a status says when the platform's rules leave it to the runtime."""
    if response.status_code == 429:
        seconds = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
        # Without a usable Retry-After, a minute: the usual window.
        return RateLimited(
            60.0 if seconds is None else seconds,
            "app",
            f"HTTP 429 from {response.request.url.path}",
        )
    if response.status_code >= 500:
        return TransientError(f"HTTP {response.status_code} from {response.request.url.path}")
    return None


class HttpApiCaller:
    """:class:`~pulse_shared.ingest.contracts.ApiCaller` over httpx, for one platform."""

    def __init__(
        self,
        rules: PlatformRules,
        limiter: RateLimiter,
        *,
        base_url: str,
        timeout_s: float = 10.0,
        max_attempts: int = 4,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_wait_s: float | None = None,
        default_headers: Mapping[str, str] | None = None,
        on_token_invalid: TokenInvalidHandler | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refused_token_memory: timedelta = REFUSED_TOKEN_MEMORY,
    ) -> None:
        self._refused_token_memory = refused_token_memory
        self.rules = rules
        self._clock = clock
        self.limiter = limiter
        self._platform = rules.platform
        self._max_attempts = max_attempts
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._max_wait_s = max_wait_s
        self._on_token_invalid = on_token_invalid
        # Tokens a platform refused in this process, until when: another call with one of
        # them is refused here, without another request (no storm of 401s while the
        # account is being marked). Kept as hashes, never as the tokens. Forgotten after a
        # while: a reconnection may bring the same token back (Meta's Page tokens).
        self._refused_tokens: dict[int, datetime] = {}
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            headers=dict(default_headers or {}),
            transport=transport,
            follow_redirects=False,
        )

    @classmethod
    def from_settings(
        cls,
        settings: IngestSettings,
        rules: PlatformRules,
        redis: Redis,
        *,
        default_headers: Mapping[str, str] | None = None,
        on_token_invalid: TokenInvalidHandler | None = None,
    ) -> HttpApiCaller:
        """The caller of the rules' platform, with the documented rate-limit budgets as
        amended by PULSE_RATE_LIMIT_BUDGETS (kept under the topic prefix's scope), against
        the configured base URL."""
        app = rate_limit_app(rules.platform)
        budgets = merge_budgets(DEFAULT_BUDGETS.get(app, ()), settings.rate_limit_budgets)
        limiter = RateLimiter(
            redis,
            app,
            budgets,
            max_wait_s=settings.rate_limit_max_wait_s,
            usage_threshold_pct=settings.rate_limit_usage_threshold_pct,
            usage_pause_s=settings.rate_limit_usage_pause_s,
            key_prefix=rate_limit_key_prefix(settings.topic_prefix),
        )
        return cls(
            rules,
            limiter,
            base_url=settings.api_base_url_of(rules.platform),
            timeout_s=settings.http_timeout_s,
            max_attempts=settings.http_max_attempts,
            backoff_initial_s=settings.http_backoff_initial_s,
            backoff_max_s=settings.http_backoff_max_s,
            default_headers=default_headers,
            on_token_invalid=on_token_invalid,
            refused_token_memory=timedelta(seconds=settings.refused_token_memory_s),
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpApiCaller:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def get(
        self,
        path: str,
        *,
        account: Account,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self._max_attempts),
            wait=wait_random_exponential(
                multiplier=self._backoff_initial_s, max=self._backoff_max_s
            ),
            before_sleep=self._before_retry(endpoint, account),
            reraise=True,
        )
        response: httpx.Response = await retrying(
            self._attempt, "GET", path, account, endpoint, params, headers
        )
        return response

    def _before_retry(self, endpoint: str, account: Account) -> Callable[[RetryCallState], None]:
        def note(state: RetryCallState) -> None:
            API_RETRIES.labels(self._platform, endpoint).inc()
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "platform call retried",
                platform=self._platform,
                endpoint=endpoint,
                account_id=account.account_id,
                attempt=state.attempt_number,
                wait_s=round(state.upcoming_sleep, 3),
                error=str(error),
            )

        return note

    async def _attempt(
        self,
        method: str,
        path: str,
        account: Account,
        endpoint: str,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        refused_until = self._refused_tokens.get(hash(account.access_token))
        if refused_until is not None and self._clock() < refused_until:
            raise TokenRefusedEarlier(f"token of account {account.account_id} refused earlier")
        await self.limiter.acquire(endpoint, account.account_id, max_wait_s=self._max_wait_s)
        request_headers = {**(headers or {}), "Authorization": f"Bearer {account.access_token}"}
        try:
            response = await self._client.request(
                method, path, params=params, headers=request_headers
            )
        except httpx.TransportError as exc:
            if stop_requested():  # a cancelled request reported as a failed one: no retry
                raise asyncio.CancelledError from None
            # `from None`: the httpx exception holds the request, headers and all.
            raise self._transient(endpoint, exc) from None
        API_REQUESTS.labels(self._platform, endpoint, str(response.status_code)).inc()
        await self.limiter.record(
            self.rules.rate_limit_state(response), endpoint=endpoint, account_id=account.account_id
        )
        error = self.rules.error_of(response) or generic_error(response)
        if error is None:
            return response
        API_ERRORS.labels(self._platform, endpoint, type(error).__name__).inc()
        if isinstance(error, RateLimited):
            await self.limiter.rate_limited(error, endpoint=endpoint, account_id=account.account_id)
        elif isinstance(error, TokenInvalid):
            self._forget_old_refusals()
            self._refused_tokens[hash(account.access_token)] = (
                self._clock() + self._refused_token_memory
            )
            if self._on_token_invalid is not None:
                await self._on_token_invalid(account, str(error))
        raise error

    def _transient(self, endpoint: str, exc: httpx.TransportError) -> TransientError:
        """A failed transport as the retryable error it is, counted: a timeout by its type,
        a connection failure with its message."""
        if isinstance(exc, httpx.TimeoutException):
            self._count(endpoint, "timeout", TransientError)
            return TransientError(f"{endpoint}: {type(exc).__name__}")
        self._count(endpoint, "connection", TransientError)
        return TransientError(f"{endpoint}: {type(exc).__name__}: {exc}")

    def _forget_old_refusals(self) -> None:
        now = self._clock()
        for token, until in list(self._refused_tokens.items()):
            if until <= now:
                del self._refused_tokens[token]

    def _count(self, endpoint: str, status: str, kind: type[ApiError]) -> None:
        API_REQUESTS.labels(self._platform, endpoint, status).inc()
        API_ERRORS.labels(self._platform, endpoint, kind.__name__).inc()
