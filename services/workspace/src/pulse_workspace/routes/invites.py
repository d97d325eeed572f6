"""Invites: sent by mail (kept only when the mail left), listed while pending, withdrawn,
accepted once by the invited address."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response

from pulse_shared.roles import Permission
from pulse_workspace import audit
from pulse_workspace.deps import (
    BusinessPath,
    IdPath,
    MailerDep,
    PoolDep,
    SettingsDep,
    UserDep,
    body_after,
    role_for,
)
from pulse_workspace.deps import session_caller as session
from pulse_workspace.invites import invite_link, new_secret
from pulse_workspace.mail import Invitation, Mailer, MailFailed, invitation_message
from pulse_workspace.routes import ERRORS
from pulse_workspace.rules import (
    InviteState,
    Refused,
    check_invite_usable,
    check_invitee,
    no_such_invite,
    require_assign,
)
from pulse_workspace.schemas import AcceptIn, BusinessOut, InviteIn, InviteOut
from pulse_workspace.settings import Settings
from pulse_workspace.store import (
    ACCEPT_INVITE,
    BUSINESS,
    CREATE_INVITE,
    INVITE_BY_SECRET,
    INVITE_ROLE,
    MEMBER_BY_EMAIL,
    PENDING_INVITES,
    REVOKE_INVITE,
    USER,
    Store,
    unit_of_work,
)
from pulse_workspace.tokens import digest

router = APIRouter(prefix="/v1", tags=["invites"])


async def send_invite(
    store: Store,
    mailer: Mailer,
    settings: Settings,
    business_id: int,
    inviter: str,
    email: str,
    role: str,
) -> tuple[InviteOut, str]:
    """Within the caller's unit of work: the invite written, audited and mailed; when the
    mail does not leave, 502 and (the unit of work rolled back) no invite is kept."""
    if await store.db.fetchval(MEMBER_BY_EMAIL, business_id, email):
        raise Refused(409, f"{email} is already a member")
    secret = new_secret()
    row = await store.db.fetchrow(
        CREATE_INVITE,
        business_id,
        email,
        role,
        digest(secret),
        inviter,
        float(settings.invite_ttl_s),
    )
    invite = InviteOut(**dict(row))
    details = {"invite_id": invite.id, "role": role}
    await store.audit(business_id, inviter, audit.INVITE_CREATED, email, details)
    link = invite_link(settings.dashboard_url, secret)
    invitation = Invitation(
        email,
        await _business_name(store, business_id),
        await _inviter_name(store, inviter),
        role,
        link,
    )
    try:
        await mailer.send(invitation_message(invitation, settings.mail_from))
    except MailFailed as exc:
        raise HTTPException(
            502, f"the invite mail could not be sent ({exc}); no invite was made"
        ) from None
    return invite, link


async def _business_name(store: Store, business_id: int) -> str:
    business = await store.business(business_id)
    return (business or {}).get("name") or f"business {business_id}"


async def _inviter_name(store: Store, inviter: str) -> str:
    if inviter == audit.OPERATOR:
        return "The Pulse operator"
    user: dict[str, Any] = await store.user(inviter) or {}
    return str(user.get("name") or user.get("email") or inviter)


@router.post(
    "/businesses/{business_id}/invites",
    status_code=201,
    response_model=InviteOut,
    responses={
        **ERRORS,
        409: {"description": "Already a member"},
        502: {"description": "The mail could not be sent: no invite"},
    },
    summary="Invite someone by email with a role",
)
async def invite(
    user: UserDep,
    business_id: BusinessPath,
    body: Annotated[InviteIn, Depends(body_after(session, InviteIn))],
    pool: PoolDep,
    mailer: MailerDep,
    settings: SettingsDep,
) -> InviteOut:
    role = await role_for(pool, business_id, user, Permission.READ)
    require_assign(role, body.role)
    async with unit_of_work(pool) as store:
        made, _ = await send_invite(
            store, mailer, settings, business_id, user, body.email, body.role
        )
    return made


@router.get(
    "/businesses/{business_id}/invites",
    response_model=list[InviteOut],
    responses=ERRORS,
    summary="Pending invites",
)
async def pending(user: UserDep, business_id: BusinessPath, pool: PoolDep) -> list[InviteOut]:
    await role_for(pool, business_id, user, Permission.MANAGE_MEMBERS)
    return [InviteOut(**dict(row)) for row in await pool.fetch(PENDING_INVITES, business_id)]


@router.delete(
    "/businesses/{business_id}/invites/{invite_id}",
    status_code=204,
    responses=ERRORS,
    summary="Withdraw a pending invite",
)
async def withdraw(
    user: UserDep, business_id: BusinessPath, invite_id: IdPath, pool: PoolDep
) -> Response:
    role = await role_for(pool, business_id, user, Permission.MANAGE_MEMBERS)
    async with unit_of_work(pool) as store:
        invited_as: str | None = await store.db.fetchval(INVITE_ROLE, invite_id, business_id)
        if invited_as is None:
            raise Refused(404, f"no pending invite {invite_id} in business {business_id}")
        require_assign(role, invited_as)
        await store.db.execute(REVOKE_INVITE, invite_id, business_id)
        await store.audit(business_id, user, audit.INVITE_REVOKED, None, {"invite_id": invite_id})
    return Response(status_code=204)


@router.post(
    "/invites/accept",
    response_model=BusinessOut,
    responses={
        **ERRORS,
        409: {"description": "Already a member"},
        410: {"description": "Used, withdrawn or expired"},
    },
    summary="Accept an invite: the caller joins with the invited role",
)
async def accept(
    user: UserDep,
    body: Annotated[AcceptIn, Depends(body_after(session, AcceptIn))],
    pool: PoolDep,
) -> BusinessOut:
    found = await pool.fetchrow(INVITE_BY_SECRET, digest(body.secret))
    if found is None:
        raise no_such_invite()
    state = InviteState(
        found["email"],
        found["role"],
        found["expires_at"],
        found["accepted_at"],
        found["revoked_at"],
    )
    check_invite_usable(state, found["now"])
    caller = await pool.fetchrow(USER, user)
    check_invitee(state, caller["email"] if caller else None)
    async with unit_of_work(pool) as store:
        taken = await store.db.fetchrow(ACCEPT_INVITE, found["id"], user)
        if taken is None:
            raise Refused(410, "this invite is no longer usable; ask for a new one")
        business_id, role = taken["business_id"], taken["role"]
        if not await store.add_member(business_id, user, role):
            raise Refused(409, "you are already a member of this business")
        await store.audit(
            business_id, user, audit.INVITE_ACCEPTED, user, {"invite_id": found["id"]}
        )
        await store.audit(
            business_id, user, audit.MEMBER_ADDED, user, {"role": role, "via": "invite"}
        )
        business = await store.db.fetchrow(BUSINESS, business_id)
    return BusinessOut(
        business_id=business_id, name=business["name"], timezone=business["timezone"], role=role
    )
