"""The operator's routes (`pulse token`, `pulse business add-owner`, tests): bearer
PULSE_WORKSPACE_OPERATOR_TOKEN; without it configured they do not exist (404)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from pulse_shared.roles import Role
from pulse_workspace import audit, team
from pulse_workspace.deps import MailerDep, PoolDep, SettingsDep, SignerDep, body_after, operator
from pulse_workspace.routes import ERRORS
from pulse_workspace.routes.invites import send_invite
from pulse_workspace.rules import Refused
from pulse_workspace.schemas import (
    AccessTokenOut,
    OperatorMemberIn,
    OperatorMemberOut,
    OperatorOwnerIn,
    OperatorOwnerOut,
    OperatorTokenIn,
)
from pulse_workspace.store import ENSURE_BUSINESS, NAMED_BY_OPERATOR, USER_BY_EMAIL, unit_of_work

router = APIRouter(prefix="/v1/operator", tags=["operator"], dependencies=[Depends(operator)])


@router.post(
    "/members",
    response_model=OperatorMemberOut,
    responses=ERRORS,
    summary="Make a user a member with a role (the business made if missing)",
)
async def put_member(
    body: Annotated[OperatorMemberIn, Depends(body_after(operator, OperatorMemberIn))],
    pool: PoolDep,
) -> OperatorMemberOut:
    async with unit_of_work(pool) as store:
        await store.db.execute(ENSURE_BUSINESS, body.business_id)  # as an event would
        if body.email is not None or body.name is not None:
            await store.db.execute(NAMED_BY_OPERATOR, body.user_id, body.email, body.name)
        previous, role = await team.put(
            store, body.business_id, audit.OPERATOR, body.user_id, body.role
        )
    return OperatorMemberOut(
        business_id=body.business_id, user_id=body.user_id, role=role, previous_role=previous
    )


@router.post(
    "/tokens",
    response_model=AccessTokenOut,
    responses=ERRORS,
    summary="A Pulse access token for a user",
)
async def access_token(
    body: Annotated[OperatorTokenIn, Depends(body_after(operator, OperatorTokenIn))],
    signer: SignerDep,
    settings: SettingsDep,
) -> AccessTokenOut:
    if not settings.is_dev and body.ttl_s > settings.jwt_max_lifetime_s:
        message = f"at most {settings.jwt_max_lifetime_s} s (PULSE_JWT_MAX_LIFETIME_S)"
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "ttl_s"),
                    "msg": message,
                    "type": "less_than_equal",
                    "input": body.ttl_s,
                }
            ]
        )
    token = signer.mint(body.user_id, body.ttl_s, datetime.now(UTC))
    return AccessTokenOut(**token.answer())


@router.post(
    "/owners",
    response_model=OperatorOwnerOut,
    responses=ERRORS,
    summary="Name an owner by email: the user made owner, or an owner invite mailed",
)
async def name_owner(
    body: Annotated[OperatorOwnerIn, Depends(body_after(operator, OperatorOwnerIn))],
    pool: PoolDep,
    mailer: MailerDep,
    settings: SettingsDep,
) -> JSONResponse:
    async with unit_of_work(pool) as store:
        if await store.business(body.business_id) is None:
            raise Refused(404, f"business {body.business_id} not found")
        user: str | None = await store.db.fetchval(USER_BY_EMAIL, body.email)
        if user is not None:
            await team.put(store, body.business_id, audit.OPERATOR, user, Role.OWNER)
            made = OperatorOwnerOut(outcome="owner", business_id=body.business_id, user_id=user)
            return JSONResponse(made.model_dump(mode="json"), status_code=200)
        invite, link = await send_invite(
            store, mailer, settings, body.business_id, audit.OPERATOR, body.email, Role.OWNER
        )
    # The link is a secret of the invitee's: only a development stack hands it back.
    sent = OperatorOwnerOut(
        outcome="invited",
        business_id=body.business_id,
        invite=invite,
        link=link if settings.is_dev else None,
    )
    return JSONResponse(sent.model_dump(mode="json"), status_code=201)
