"""Personal API tokens: read-only, one business each, shown once, stored hashed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from pulse_shared.roles import Permission, may
from pulse_workspace import audit
from pulse_workspace.deps import BusinessPath, IdPath, PoolDep, UserDep, body_after, role_for
from pulse_workspace.deps import session_caller as session
from pulse_workspace.routes import ERRORS
from pulse_workspace.rules import Refused, may_revoke_token
from pulse_workspace.schemas import NewTokenOut, TokenIn, TokenOut
from pulse_workspace.store import CREATE_TOKEN, REVOKE_TOKEN, TOKEN_OWNER, TOKENS, unit_of_work
from pulse_workspace.tokens import digest, listing_prefix, new_token

router = APIRouter(prefix="/v1/businesses", tags=["tokens"])


@router.get(
    "/{business_id}/tokens",
    response_model=list[TokenOut],
    responses=ERRORS,
    summary="Live API tokens: one's own, or everyone's with manage_tokens",
)
async def tokens(user: UserDep, business_id: BusinessPath, pool: PoolDep) -> list[TokenOut]:
    role = await role_for(pool, business_id, user, Permission.READ)
    whose = None if may(role, Permission.MANAGE_TOKENS) else user
    return [TokenOut(**dict(row)) for row in await pool.fetch(TOKENS, business_id, whose)]


@router.post(
    "/{business_id}/tokens",
    status_code=201,
    response_model=NewTokenOut,
    responses=ERRORS,
    summary="A new API token, shown this once",
)
async def create(
    user: UserDep,
    business_id: BusinessPath,
    body: Annotated[TokenIn, Depends(body_after(session, TokenIn))],
    pool: PoolDep,
) -> NewTokenOut:
    await role_for(pool, business_id, user, Permission.CREATE_TOKEN)
    token = new_token()
    async with unit_of_work(pool) as store:
        row = await store.db.fetchrow(
            CREATE_TOKEN,
            business_id,
            user,
            body.name,
            listing_prefix(token),
            digest(token),
            body.expires_in_days,
        )
        details = {"token_id": row["id"], "name": body.name}
        await store.audit(business_id, user, audit.TOKEN_CREATED, user, details)
    return NewTokenOut(**dict(row), token=token)


@router.delete(
    "/{business_id}/tokens/{token_id}",
    status_code=204,
    responses=ERRORS,
    summary="Revoke an API token: one's own, or anyone's with manage_tokens",
)
async def revoke(
    user: UserDep, business_id: BusinessPath, token_id: IdPath, pool: PoolDep
) -> Response:
    role = await role_for(pool, business_id, user, Permission.READ)
    async with unit_of_work(pool) as store:
        owner: str | None = await store.db.fetchval(TOKEN_OWNER, token_id, business_id)
        if owner is None:
            raise Refused(404, f"no live token {token_id} in business {business_id}")
        may_revoke_token(role, user, owner)
        await store.db.execute(REVOKE_TOKEN, token_id)
        await store.audit(business_id, user, audit.TOKEN_REVOKED, owner, {"token_id": token_id})
    return Response(status_code=204)
