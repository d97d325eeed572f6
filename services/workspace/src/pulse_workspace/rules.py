"""The team's rules, pure (no I/O): who may change whom, what keeps a business owned, when
an invite or an API token is still good. Each refusal is a :class:`Refused` carrying the
HTTP answer; the routes raise it as it is. Permissions themselves are
pulse_shared.roles' (the one check); these rules only ask it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pulse_shared.roles import Permission, Role, may, may_assign

# last_used_at of an API token is written at most this often.
LAST_USED_EVERY = timedelta(minutes=1)


class Refused(Exception):
    """An answer other than success: the status and what to tell the caller."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def not_found(business_id: int) -> Refused:
    # Another business is as absent as one that does not exist.
    return Refused(404, f"business {business_id} not found")


def require(role: str | None, permission: Permission, business_id: int) -> str:
    """The caller's role when it allows ``permission``: 404 for a non-member, 403 naming
    what is needed otherwise."""
    if role is None:
        raise not_found(business_id)
    if not may(role, permission):
        raise Refused(403, f"your role ({role}) may not do this: it needs {permission.value}")
    return role


def require_assign(role: str, assigned: str) -> None:
    """The caller may give (or take away) the role ``assigned``: admins every role but owner."""
    if not may_assign(role, assigned):
        needed = Permission.MANAGE_OWNERS if assigned == Role.OWNER else Permission.MANAGE_MEMBERS
        raise Refused(
            403, f"your role ({role}) may not manage {assigned}s: it needs {needed.value}"
        )


def owners_after(roles: Iterable[str], leaving_owner: bool) -> int:
    owners = sum(1 for role in roles if role == Role.OWNER)
    return owners - 1 if leaving_owner else owners


def keep_an_owner(roles: Iterable[str], old_role: str, new_role: str | None) -> None:
    """A business keeps at least one owner: refused (409) when the member whose role is
    ``old_role`` becoming ``new_role`` (None: leaving) would leave none. ``roles`` are
    every member's, read under lock."""
    leaving = old_role == Role.OWNER and new_role != Role.OWNER
    if leaving and owners_after(roles, leaving_owner=True) < 1:
        raise Refused(409, "a business keeps at least one owner: name another owner first")


def check_role_change(actor_role: str, old_role: str, new_role: str, roles: Iterable[str]) -> None:
    """May a member of ``actor_role`` change someone from ``old_role`` to ``new_role``?"""
    require_assign(actor_role, old_role)
    require_assign(actor_role, new_role)
    keep_an_owner(roles, old_role, new_role)


def check_removal(actor_role: str, member_role: str, roles: Iterable[str]) -> None:
    require_assign(actor_role, member_role)
    keep_an_owner(roles, member_role, None)


def check_leave(role: str, roles: Iterable[str]) -> None:
    keep_an_owner(roles, role, None)


@dataclass(frozen=True)
class InviteState:
    email: str
    role: str
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None


def no_such_invite() -> Refused:
    return Refused(404, "no such invite: check the link, or ask for a new one")


def check_invite_usable(invite: InviteState, now: datetime) -> None:
    """An invite may be accepted once, before it expires, unless revoked."""
    if invite.accepted_at is not None:
        raise Refused(410, "this invite has been used already; ask for a new one")
    if invite.revoked_at is not None:
        raise Refused(410, "this invite was withdrawn; ask for a new one")
    if invite.expires_at <= now:
        raise Refused(410, "this invite has expired; ask for a new one")


def check_invitee(invite: InviteState, caller_email: str | None) -> None:
    """The invite is for the address the identity provider verified for the caller."""
    if caller_email is None or caller_email.lower() != invite.email:
        raise Refused(
            403,
            "this invite is for another email address: sign in with the invited account",
        )


def may_revoke_token(role: str, caller: str, owner: str) -> None:
    """One's own token, or anyone's with manage_tokens."""
    if caller != owner and not may(role, Permission.MANAGE_TOKENS):
        raise Refused(
            403, f"your role ({role}) may not revoke others' tokens: it needs manage_tokens"
        )


def last_used_due(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= LAST_USED_EVERY
