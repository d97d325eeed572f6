"""Signing in (an ID token for a Pulse access token), who am I, and a personal API token
exchanged for a short-lived access token."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request

from pulse_shared.http_auth import UNAUTHORIZED, CallerDep
from pulse_workspace.deps import PoolDep, SettingsDep, SignerDep, body_after, no_caller
from pulse_workspace.id_tokens import IdTokenVerifier, InvalidIdToken
from pulse_workspace.routes import ERRORS
from pulse_workspace.rules import last_used_due
from pulse_workspace.schemas import (
    AccessTokenOut,
    BusinessOut,
    ExchangeIn,
    MeOut,
    SessionIn,
    SessionOut,
    UserOut,
)
from pulse_workspace.store import BUSINESSES_OF, SIGNED_IN, TOKEN_USED, USABLE_TOKEN, USER
from pulse_workspace.tokens import digest

router = APIRouter(prefix="/v1", tags=["sessions"])


@router.post(
    "/sessions",
    response_model=SessionOut,
    responses=ERRORS,
    summary="An ID token of the identity provider for a Pulse access token",
)
async def sign_in(
    request: Request,
    body: Annotated[SessionIn, Depends(body_after(no_caller, SessionIn))],
    pool: PoolDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> SessionOut:
    verifier: IdTokenVerifier | None = request.app.state.id_tokens
    if verifier is None:
        raise HTTPException(503, "sign-in is not configured here (PULSE_OIDC_ISSUER)")
    try:
        identity = await verifier.verify(body.id_token)
    except InvalidIdToken as exc:
        raise HTTPException(401, str(exc)[:300], headers=UNAUTHORIZED) from None
    except OSError:
        raise HTTPException(503, "the identity provider cannot be reached; try again") from None
    row = await pool.fetchrow(SIGNED_IN, identity.user_id, identity.email, identity.name)
    token = signer.mint(identity.user_id, settings.workspace_token_ttl_s, datetime.now(UTC))
    return SessionOut(**token.answer(), user=UserOut(**dict(row)))


@router.get("/me", response_model=MeOut, responses=ERRORS, summary="Who I am, my businesses")
async def me(caller: CallerDep, pool: PoolDep) -> MeOut:
    row = await pool.fetchrow(USER, caller.user)
    user = UserOut(**dict(row)) if row else UserOut(user_id=caller.user, email=None, name=None)
    businesses = [
        BusinessOut(**dict(r))
        for r in await pool.fetch(BUSINESSES_OF, caller.user)
        if caller.may_see(r["business_id"])
    ]
    return MeOut(user=user, businesses=businesses)


@router.post(
    "/token",
    response_model=AccessTokenOut,
    responses=ERRORS,
    summary="A personal API token for a short-lived, read-only access token",
)
async def exchange(
    body: Annotated[ExchangeIn, Depends(body_after(no_caller, ExchangeIn))],
    pool: PoolDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> AccessTokenOut:
    row = await pool.fetchrow(USABLE_TOKEN, digest(body.api_token))
    if row is None:
        raise HTTPException(
            401,
            "invalid API token: unknown, revoked or expired, or its user is no longer a member",
            headers=UNAUTHORIZED,
        )
    if last_used_due(row["last_used_at"], row["now"]):
        await pool.execute(TOKEN_USED, row["id"])
    token = signer.mint(
        row["user_id"],
        settings.workspace_token_ttl_s,
        datetime.now(UTC),
        business_id=row["business_id"],
        token_id=row["id"],
    )
    return AccessTokenOut(**token.answer())
