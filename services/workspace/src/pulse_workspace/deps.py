"""FastAPI dependencies: the pool, who is calling (a signed-in session, never an API
token, except where said; the operator), and bodies read only after the caller is known."""

# No `from __future__ import annotations`: FastAPI reads the closures' annotations below.

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import asyncpg
from fastapi import Depends, HTTPException, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from pulse_shared.http_auth import UNAUTHORIZED, CallerDep
from pulse_shared.http_body import parse_json_body
from pulse_shared.roles import Permission
from pulse_workspace.mail import Mailer
from pulse_workspace.rules import require
from pulse_workspace.schemas import MAX_ID
from pulse_workspace.settings import Settings
from pulse_workspace.signing import Signer
from pulse_workspace.store import ROLE_OF

M = TypeVar("M", bound=BaseModel)


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


async def get_mailer(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


async def session_caller(caller: CallerDep) -> str:
    """A signed-in person's user id; a personal API token reads, it manages nothing."""
    if caller.api_token:
        raise HTTPException(
            403, "a personal API token may only read; this needs a signed-in session"
        )
    return caller.user


class OperatorBearer(HTTPBearer):
    """The operator's bearer (PULSE_WORKSPACE_OPERATOR_TOKEN), compared in constant time;
    without one configured, the operator routes do not exist."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        settings: Settings = request.app.state.settings
        if settings.workspace_operator_token is None:
            raise HTTPException(404, "Not Found")
        credentials: HTTPAuthorizationCredentials | None = await super().__call__(request)
        expected = settings.workspace_operator_token.get_secret_value().encode()
        given = credentials.credentials.encode() if credentials else b""
        if not hmac.compare_digest(given, expected):
            raise HTTPException(401, "not the operator's token", headers=UNAUTHORIZED)


async def no_caller() -> None:
    """Routes that take no bearer (/v1/sessions, /v1/token)."""


def body_after(guard: Callable[..., Awaitable[Any]], model: type[M]) -> Callable[..., Awaitable[M]]:
    """A dependency reading the JSON body as ``model`` after ``guard`` let the caller in:
    nothing of a body is parsed for a stranger (400 not JSON, 422 naming the field)."""

    async def read(request: Request, _: Annotated[Any, Depends(guard)]) -> M:
        return parse_json_body(await request.body(), model)

    return read


operator = OperatorBearer(auto_error=False, description="PULSE_WORKSPACE_OPERATOR_TOKEN")
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SignerDep = Annotated[Signer, Depends(get_signer)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]
UserDep = Annotated[str, Depends(session_caller)]
OperatorDep = Annotated[None, Depends(operator)]
BusinessPath = Annotated[int, Path(gt=0, le=MAX_ID, description="The business")]
UserPath = Annotated[str, Path(min_length=1, max_length=255, description="A member's user id")]
IdPath = Annotated[int, Path(gt=0, le=MAX_ID)]


async def role_for(pool: asyncpg.Pool, business_id: int, user: str, permission: Permission) -> str:
    """The caller's role in the business when it allows ``permission`` (404 for a
    non-member, 403 naming the permission otherwise)."""
    role: str | None = await pool.fetchval(ROLE_OF, business_id, user)
    return require(role, permission, business_id)
