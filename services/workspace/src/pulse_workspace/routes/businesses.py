"""Onboarding (a new business, its creator its owner) and its members: list, change a
role, remove, leave."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from redis.exceptions import RedisError

from pulse_shared.logs import get_logger
from pulse_shared.memberships import forget_membership
from pulse_shared.roles import Permission, Role
from pulse_workspace import audit, team
from pulse_workspace.deps import BusinessPath, PoolDep, UserDep, UserPath, body_after, role_for
from pulse_workspace.deps import session_caller as session
from pulse_workspace.routes import ERRORS
from pulse_workspace.schemas import BusinessIn, BusinessOut, MemberOut, RoleIn
from pulse_workspace.store import CREATE_BUSINESS, MEMBERS, unit_of_work

log = get_logger(__name__)
router = APIRouter(prefix="/v1/businesses", tags=["members"])
# Of ids an event already took from under the sequence, how many are skipped at most.
ID_ATTEMPTS = 20


@router.post(
    "",
    status_code=201,
    response_model=BusinessOut,
    responses=ERRORS,
    summary="A new business; the caller its owner",
)
async def create_business(
    user: UserDep,
    body: Annotated[BusinessIn, Depends(body_after(session, BusinessIn))],
    pool: PoolDep,
) -> BusinessOut:
    async with unit_of_work(pool) as store:
        for _ in range(ID_ATTEMPTS):
            business_id: int | None = await store.db.fetchval(
                CREATE_BUSINESS, body.name, body.timezone
            )
            if business_id is not None:
                break
        else:
            raise HTTPException(503, "no free business id found; try again")
        await store.add_member(business_id, user, Role.OWNER)
        details = {"name": body.name, "timezone": body.timezone}
        await store.audit(business_id, user, audit.BUSINESS_CREATED, None, details)
    return BusinessOut(
        business_id=business_id, name=body.name, timezone=body.timezone, role=Role.OWNER
    )


@router.get(
    "/{business_id}/members",
    response_model=list[MemberOut],
    responses=ERRORS,
    summary="The business's members and their roles",
)
async def members(user: UserDep, business_id: BusinessPath, pool: PoolDep) -> list[MemberOut]:
    await role_for(pool, business_id, user, Permission.READ)
    return [MemberOut(**dict(row)) for row in await pool.fetch(MEMBERS, business_id)]


@router.patch(
    "/{business_id}/members/{user_id}",
    response_model=MemberOut,
    responses={**ERRORS, 409: {"description": "It would leave no owner"}},
    summary="Change a member's role",
)
async def change_role(
    user: UserDep,
    business_id: BusinessPath,
    user_id: UserPath,
    body: Annotated[RoleIn, Depends(body_after(session, RoleIn))],
    pool: PoolDep,
) -> MemberOut:
    async with unit_of_work(pool) as store:
        await team.change_role(store, business_id, user, user_id, body.role)
        member = await store.member(business_id, user_id)
    return MemberOut(**member) if member else _gone(user_id)


def _gone(user_id: str) -> MemberOut:
    raise HTTPException(404, f"{user_id!r} is not a member")


@router.delete(
    "/{business_id}/members/{user_id}",
    status_code=204,
    responses={**ERRORS, 409: {"description": "The last owner"}},
    summary="Remove a member",
)
async def remove(
    request: Request, user: UserDep, business_id: BusinessPath, user_id: UserPath, pool: PoolDep
) -> Response:
    async with unit_of_work(pool) as store:
        await team.remove(store, business_id, user, user_id)
    await forget(request, business_id, user_id)
    return Response(status_code=204)


@router.post(
    "/{business_id}/leave",
    status_code=204,
    responses={**ERRORS, 409: {"description": "The last owner"}},
    summary="Leave the business",
)
async def leave(
    request: Request, user: UserDep, business_id: BusinessPath, pool: PoolDep
) -> Response:
    async with unit_of_work(pool) as store:
        await team.leave(store, business_id, user)
    await forget(request, business_id, user)
    return Response(status_code=204)


async def forget(request: Request, business_id: int, user: str) -> None:
    """After the removal is committed: query-api's memory of the membership (what vouches
    for a member while PostgreSQL is unreachable) goes too, so nothing serves them."""
    try:
        await forget_membership(request.app.state.redis, business_id, user)
    except (RedisError, OSError) as exc:
        # Vouching is for outages of PostgreSQL only, and lapses in minutes (VOUCH_S).
        log.error("removed membership not forgotten in Redis", error=repr(exc)[:300])
