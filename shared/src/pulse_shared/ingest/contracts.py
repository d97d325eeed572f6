"""What the shared ingest runtime and the three platform clients agree on.

The runtime (``pulse_shared.ingest``: poll schedule, rate limits, token vault, HTTP with
retries, webhooks, publishing) knows no platform. Each ingest service supplies:

- a :class:`PlatformRules`: how its API says "slow down", "token dead", "metric refused",
  read from a response, so the shared :class:`ApiCaller` can act on it;
- a :class:`PlatformClient`: the calls that fetch posts' metrics and an account's
  followers, made through the caller, parsed into the shared event models;
- a :class:`WebhookReceiver`: the handshake, the signature check over the raw body, and
  which posts a delivery concerns; and its :class:`WebhookApi`, how those look in the
  service's OpenAPI document.

Request builders and response parsers are plain functions of JSON in each service, so
they are tested on payloads shaped exactly like the documentation's examples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from pulse_shared.events import Platform, PostMetrics


@dataclass(frozen=True, repr=False)
class Account:
    """A connected platform account and its (decrypted) access token. ``repr`` never shows
    the token, so it cannot leak into a log line."""

    business_id: int
    platform: Platform
    account_id: str
    access_token: str

    def __repr__(self) -> str:
        return f"Account({self.business_id}, {self.platform!r}, {self.account_id!r})"


@dataclass(frozen=True)
class TrackedPost:
    """A post on the poll schedule."""

    business_id: int
    platform: Platform
    platform_post_id: str
    account_id: str
    published_at: datetime
    # From posts.published.v1: video metrics only apply to videos (None: not known).
    content_type: str | None = None


@dataclass(frozen=True)
class PostReading:
    """One post's cumulative numbers as the platform reported them (null = not reported)."""

    platform_post_id: str
    metrics: PostMetrics


@dataclass
class PollResult:
    """What one poll of some posts produced."""

    readings: list[PostReading] = field(default_factory=list)
    # Ids the platform answered as not found / deleted / not ours (stop polling them).
    missing: list[str] = field(default_factory=list)
    # Metric names the platform refused for these posts: dropped from the request and
    # the call retried, the rest kept. Counted and logged by name by the runtime.
    refused_metrics: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RateLimitState:
    """What a response says about the budget left, from the platform's headers.

    ``remaining``/``reset_at``: X's x-rate-limit-* headers. ``usage_pct``: Meta's
    X-App-Usage / X-Business-Use-Case-Usage (the highest percentage). None = not said."""

    remaining: int | None = None
    limit: int | None = None
    reset_at: datetime | None = None
    usage_pct: float | None = None
    regain_after_s: float | None = None


# --- what an API call can end in, besides a usable response --------------------------


class ApiError(Exception):
    """A platform call that did not give a usable answer."""


class RateLimited(ApiError):
    """HTTP 429 or a throttling error code: wait ``retry_after_s`` before the next call
    on this budget (``scope``: "app" or "account")."""

    def __init__(self, retry_after_s: float, scope: str = "app", detail: str = "") -> None:
        super().__init__(f"rate limited ({scope}) for {retry_after_s:.0f} s: {detail}")
        self.retry_after_s = retry_after_s
        self.scope = scope


class TokenInvalid(ApiError):
    """The access token is expired or revoked (HTTP 401, Meta code 190): the account needs
    reconnecting; polling it stops, nothing is retried."""


class TokenRefusedEarlier(TokenInvalid):
    """This process saw the platform refuse this very token moments ago, so it was not
    asked again. The account was marked then; a reconnection may since have stored the
    same token string again (Meta's Page tokens), so nothing is marked now: the call is
    tried again once the memory of the refusal has passed."""


class MetricRefused(ApiError):
    """The platform refused one or more requested metric names for this call (Meta answers
    a retired insights metric with an error for the whole call)."""

    def __init__(self, metrics: Sequence[str], detail: str = "") -> None:
        super().__init__(f"metrics refused {list(metrics)}: {detail}")
        self.metrics = list(metrics)


class TransientError(ApiError):
    """5xx, timeouts, connection errors: retried with exponential backoff and jitter."""


class PermanentError(ApiError):
    """Any other 4xx: the request itself is wrong; not retried."""


def unreadable_success(response: httpx.Response, platform: str) -> TransientError | None:
    """A 2xx whose body is not JSON (a proxy's page, a cut-off answer): worth retrying."""
    try:
        response.json()
    except ValueError:
        return TransientError(
            f"{platform} answered {response.status_code} with a body that is not JSON"
        )
    return None


class PlatformRules(Protocol):
    """How one platform's API speaks about limits and errors."""

    platform: str

    def error_of(self, response: httpx.Response) -> ApiError | None:
        """The error a response means (None for a usable one, partial failures included)."""
        ...

    def rate_limit_state(self, response: httpx.Response) -> RateLimitState: ...


class ApiCaller(Protocol):
    """The shared HTTP runtime: waits for the shared rate-limit budgets (per app, per
    account, per endpoint), sends, retries transient failures with backoff and jitter,
    records the budget the response reports, and raises the :class:`ApiError` the
    platform's rules find in it."""

    async def get(
        self,
        path: str,
        *,
        account: Account,
        endpoint: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response: ...


@dataclass(frozen=True)
class ApiRequest:
    """One GET as the shared caller takes it (built by a platform's request builders)."""

    path: str
    endpoint: str
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None


async def get_json(caller: ApiCaller, account: Account, request: ApiRequest) -> object:
    """Send ``request`` through the caller; its JSON body (a non-JSON answer is a
    PermanentError naming the endpoint)."""
    response = await caller.get(
        request.path,
        account=account,
        endpoint=request.endpoint,
        params=request.params,
        headers=request.headers,
    )
    try:
        body: object = response.json()
    except ValueError as exc:
        raise PermanentError(f"the answer to {request.endpoint} is not JSON") from exc
    return body


class PlatformClient(Protocol):
    platform: str
    # How many posts one metrics call may ask about (X: 100 ids per lookup).
    max_posts_per_call: int

    async def post_metrics(
        self, caller: ApiCaller, account: Account, post_ids: Sequence[str]
    ) -> PollResult: ...

    async def followers(self, caller: ApiCaller, account: Account) -> int: ...


@dataclass(frozen=True)
class WebhookDelivery:
    """What a verified delivery is about: the posts to re-poll soon (their numbers always
    come from the API's authoritative totals) and an id to deduplicate retries by."""

    delivery_id: str
    post_ids: list[str]
    account_id: str | None = None


class WebhookReceiver(Protocol):
    def handshake(self, query: Mapping[str, str]) -> tuple[int, str, Any]:
        """(status, media type, body) answering the platform's GET challenge. A token not
        of the shape the platform documents is refused with 400, never answered: the
        answers are HMACs under the delivery-signing secret (X, LinkedIn) or an echo
        (Meta)."""
        ...

    def verify(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        """The signature over the raw body, compared in constant time."""
        ...

    def parse(self, raw_body: bytes) -> list[WebhookDelivery]:
        """The deliveries in a verified body; raises ValueError for a malformed one."""
        ...


@dataclass(frozen=True)
class WebhookApi:
    """A platform's webhooks as the service's OpenAPI document states them, beside the
    receiver that enforces them (pulse_shared.ingest.app declares its /webhooks routes
    with it): what a handshake carries and is answered, the header that signs a delivery,
    and what a delivery's body holds. A schema-valid handshake is answered, a
    schema-valid delivery with a valid signature is taken (200); anything else is refused
    with 4xx. What a schema cannot state (which signature, which verify token) is said in
    the descriptions."""

    # OpenAPI parameter objects of GET /webhooks, in the query.
    handshake_parameters: tuple[dict[str, Any], ...]
    # OpenAPI responses of GET /webhooks particular to the platform (its answer, and any
    # refusal beyond the shared 400 for a token not of the platform's shape).
    handshake_answers: dict[int | str, dict[str, Any]]
    signature_header: str
    # How the signature is made (an HMAC of the raw body under the platform's secret).
    signature_description: str
    # The JSON Schema of a delivery's body: what the receiver's parse takes.
    delivery_schema: dict[str, Any]
