"""The API's wiring and FastAPI dependencies: who is calling and with which role in the
business (the one permission check, pulse_shared.roles.may), bodies read only after the
caller is let in, the heavy routes' own rate limits, and bodies capped per route.

Who the caller is: a bearer JWT checked against the workspace's keys (its JWKS:
pulse_shared.http_auth); with which role: asked of the workspace on every request
(members.py). A business the caller is no member of answers 404, as one that does not
exist; a member whose role lacks the permission, 403 naming it. A personal API token reads
(pulse_shared.roles.TOKEN_PERMISSIONS: it manages nothing); a Pulse service's token (the
reporter's own, for query-api) is no member of anything here.
"""

# No `from __future__ import annotations`: FastAPI reads the closures' annotations below.

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Path, Request
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from pulse_reporter.analytics import QueryApiAnalytics, RetryPolicy
from pulse_reporter.members import MembersUnavailable, TokenRefused, WorkspaceMembers
from pulse_reporter.ports import Analytics
from pulse_reporter.schemas import MAX_ID
from pulse_reporter.settings import Settings
from pulse_reporter.worker import utc_now
from pulse_shared.db import CONNECT_TIMEOUT_S, SERVER_SETTINGS, asyncpg_dsn
from pulse_shared.http_auth import UNAUTHORIZED, Caller, CallerDep
from pulse_shared.http_body import parse_json_body
from pulse_shared.http_limits import BodyLimit
from pulse_shared.http_ratelimit import Limit, RateLimiter, client_address, subject_of_token
from pulse_shared.logs import get_logger
from pulse_shared.roles import Permission, may

log = get_logger(__name__)
M = TypeVar("M", bound=BaseModel)

# The API's statements are all small and indexed: one that is not is stopped at 5 s (the
# worker's pool allows its own statements more), and no transaction is left open.
API_DATABASE_SETTINGS = {
    **SERVER_SETTINGS,
    "timezone": "UTC",
    "statement_timeout": "5000",
    "lock_timeout": "2000",
    "idle_in_transaction_session_timeout": "5000",
}
# An interactive request waits for query-api at most this long per attempt, and tries twice.
ANALYTICS_TIMEOUT_S = 20.0
ANALYTICS_RETRY = RetryPolicy(attempts=2, first_wait_s=0.5, max_wait_s=1.0, retry_after_cap_s=2.0)


@dataclass(frozen=True)
class Api:
    """What the routes share, made once at start (:func:`serving_api`)."""

    settings: Settings
    pool: asyncpg.Pool
    members: WorkspaceMembers
    analytics: Analytics
    limiter: RateLimiter | None  # None: rate limits off
    preview_limit: Limit
    send_now_limit: Limit
    renders: asyncio.Semaphore  # PDFs rendered at once by this replica
    clock: Callable[[], datetime] = utc_now


@contextlib.asynccontextmanager
async def serving_api(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """The API's pool (its statements bounded), its clients of the workspace and query-api,
    and its own rate limits (on the limiter of ``app.state.rate_limits``, when on)."""
    pool = await asyncpg.create_pool(
        asyncpg_dsn(settings.database_url),
        min_size=0,
        max_size=settings.db_pool_size,
        server_settings=API_DATABASE_SETTINGS,
        timeout=CONNECT_TIMEOUT_S,
    )
    members = WorkspaceMembers(settings.workspace_url)
    analytics = QueryApiAnalytics.from_settings(
        settings, timeout_s=ANALYTICS_TIMEOUT_S, retry=ANALYTICS_RETRY
    )
    configured = getattr(app.state, "rate_limits", None)
    app.state.api = Api(
        settings=settings,
        pool=pool,
        members=members,
        analytics=analytics,
        limiter=configured[0] if configured else None,
        preview_limit=Limit.parse("preview", settings.rate_limit_preview),
        send_now_limit=Limit.parse("send-now", settings.rate_limit_send_now),
        renders=asyncio.Semaphore(settings.preview_concurrency),
    )
    try:
        yield
    finally:
        await analytics.aclose()
        await members.aclose()
        await pool.close()


async def get_api(request: Request) -> Api:
    api: Api = request.app.state.api
    return api


ApiDep = Annotated[Api, Depends(get_api)]
BusinessPath = Annotated[int, Path(gt=0, le=MAX_ID, description="The business")]
IdPath = Annotated[int, Path(gt=0, le=MAX_ID)]


# --- who is calling --------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """The caller, let into ``business_id`` with ``role``."""

    business_id: int
    user: str
    role: str
    api_token: bool


def _bearer(request: Request) -> str:
    """The token the caller was authenticated with (CallerDep checked it is there)."""
    return request.headers.get("authorization", "").partition(" ")[2].strip()


def _client(request: Request, api: Api) -> str:
    peer = request.client.host if request.client else None
    return client_address(peer, request.scope["headers"], frozenset(api.settings.trusted_proxies))


async def role_of(request: Request, api: Api, caller: Caller, business_id: int) -> str | None:
    """The caller's role in the business (the workspace's answer), None for a non-member."""
    if caller.service is not None or not caller.may_see(business_id):
        return None
    try:
        roles = await api.members.roles(_bearer(request), _client(request, api))
    except TokenRefused:
        raise HTTPException(401, "the workspace refuses this token", headers=UNAUTHORIZED) from None
    except MembersUnavailable as exc:
        log.warning("members unavailable", error=str(exc)[:300])
        raise HTTPException(
            503, "the workspace is unavailable right now; try again shortly", {"Retry-After": "5"}
        ) from None
    return roles.role_in(business_id)


def refuse(role: str | None, permission: Permission, caller: Caller, business_id: int) -> None:
    """404 for a non-member; 403 naming the permission for a role (or token) without it."""
    if role is None:
        raise HTTPException(404, f"business {business_id} not found")
    if not may(role, permission, api_token=caller.api_token):
        held = "a read-only API token" if caller.api_token else f"your role ({role})"
        raise HTTPException(403, f"{held} may not do this: it needs {permission.value}")


def member_with(permission: Permission) -> Callable[..., Awaitable[Member]]:
    """A dependency letting in a member whose role allows ``permission``."""

    async def check(
        request: Request, caller: CallerDep, business_id: BusinessPath, api: ApiDep
    ) -> Member:
        role = await role_of(request, api, caller, business_id)
        refuse(role, permission, caller, business_id)
        assert role is not None
        return Member(business_id, caller.user, role, caller.api_token)

    return check


READER = member_with(Permission.READ)
MANAGER = member_with(Permission.MANAGE_REPORTS)
ReaderDep = Annotated[Member, Depends(READER)]
ManagerDep = Annotated[Member, Depends(MANAGER)]


def body_after(guard: Callable[..., Awaitable[Any]], model: type[M]) -> Callable[..., Awaitable[M]]:
    """A dependency reading the JSON body as ``model`` after ``guard`` let the caller in:
    nothing of a body is parsed for a stranger (400 not JSON, 422 naming the field)."""

    async def read(request: Request, _: Annotated[Any, Depends(guard)]) -> M:
        return parse_json_body(await request.body(), model)

    return read


# --- the heavy routes' own limits ------------------------------------------------------


async def hit(api: Api, limit: Limit, subject: str) -> None:
    """Counts one request of ``subject`` against ``limit``; 429 (Retry-After) past it."""
    if api.limiter is None:
        return
    verdict = await api.limiter.hit(limit, subject_of_token(subject))
    if not verdict.allowed:
        detail = (
            f"rate limit {limit.name!r} reached ({limit.quota} per {limit.window_s} s); "
            f"retry in {verdict.reset_s} s"
        )
        raise HTTPException(429, detail, headers=verdict.headers())


async def preview_allowance(caller: CallerDep, api: ApiDep) -> None:
    """Previews render or compute for seconds: each caller gets ``rate_limit_preview`` of
    them (counted before anything else is looked at, answered or not)."""
    await hit(api, api.preview_limit, f"preview:{caller.user}")


PreviewAllowance = Annotated[None, Depends(preview_allowance)]


# --- bodies ----------------------------------------------------------------------------


class BodyLimits:
    """:class:`pulse_shared.http_limits.BodyLimit` per route: ``max_bytes`` for any body,
    and the cap of ``larger`` for a path one of its patterns matches whole (a logo)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int]) -> None:
        self.default = BodyLimit(app, max_bytes)
        self.larger = [
            (re.compile(pattern), BodyLimit(app, cap)) for pattern, cap in larger.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for pattern, limit in self.larger:
                if pattern.fullmatch(scope["path"]):
                    await limit(scope, receive, send)
                    return
        await self.default(scope, receive, send)
