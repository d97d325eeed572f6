"""Members: change a role, remove, leave, add. Each change reads every member's role under
lock (:meth:`TeamStore.lock_members`), decides with pulse_workspace.rules, writes, and
audits, inside the caller's unit of work; the routes forget a removed membership in Redis
once it is committed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pulse_shared.roles import Role
from pulse_workspace import audit
from pulse_workspace.rules import (
    Refused,
    check_leave,
    check_removal,
    check_role_change,
    keep_an_owner,
    not_found,
)


class TeamStore(Protocol):
    async def lock_members(self, business_id: int) -> dict[str, str]: ...

    async def set_role(self, business_id: int, user: str, role: str) -> None: ...

    async def add_member(self, business_id: int, user: str, role: str) -> bool: ...

    async def delete_member(self, business_id: int, user: str) -> None: ...

    async def revoke_tokens_of(self, business_id: int, user: str) -> None: ...

    async def audit(
        self,
        business_id: int,
        actor: str,
        action: str,
        subject: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None: ...


def _member_role(roles: dict[str, str], business_id: int, user: str) -> str:
    role = roles.get(user)
    if role is None:
        raise Refused(404, f"{user!r} is not a member of business {business_id}")
    return role


def _actor_role(roles: dict[str, str], business_id: int, actor: str) -> str:
    role = roles.get(actor)
    if role is None:
        raise not_found(business_id)
    return role


async def change_role(store: TeamStore, business_id: int, actor: str, user: str, role: str) -> str:
    """``user``'s role becomes ``role``; the role it had."""
    roles = await store.lock_members(business_id)
    actor_role = _actor_role(roles, business_id, actor)
    old = _member_role(roles, business_id, user)
    check_role_change(actor_role, old, role, roles.values())
    if old != role:
        await store.set_role(business_id, user, role)
        details = {"from": old, "to": role}
        await store.audit(business_id, actor, audit.MEMBER_ROLE_CHANGED, user, details)
    return old


async def remove(store: TeamStore, business_id: int, actor: str, user: str) -> str:
    """``user`` is no member any more, its API tokens for the business revoked; its role."""
    roles = await store.lock_members(business_id)
    actor_role = _actor_role(roles, business_id, actor)
    old = _member_role(roles, business_id, user)
    check_removal(actor_role, old, roles.values())
    await _drop(store, business_id, user)
    await store.audit(business_id, actor, audit.MEMBER_REMOVED, user, {"role": old})
    return old


async def leave(store: TeamStore, business_id: int, actor: str) -> None:
    roles = await store.lock_members(business_id)
    role = _actor_role(roles, business_id, actor)
    check_leave(role, roles.values())
    await _drop(store, business_id, actor)
    await store.audit(business_id, actor, audit.MEMBER_LEFT, actor, {"role": role})


async def _drop(store: TeamStore, business_id: int, user: str) -> None:
    await store.delete_member(business_id, user)
    await store.revoke_tokens_of(business_id, user)


async def put(
    store: TeamStore, business_id: int, actor: str, user: str, role: str | None
) -> tuple[str | None, str]:
    """An operator's word: ``user`` is a member with ``role`` (added, or its role changed,
    never leaving the business without an owner it had; no role: a member keeps its own, a
    new one is owner); the role it had, if any, and the one it has."""
    roles = await store.lock_members(business_id)
    old = roles.get(user)
    role = role or old or Role.OWNER
    if old is None:
        await store.add_member(business_id, user, role)
        await store.audit(business_id, actor, audit.MEMBER_ADDED, user, {"role": role})
    elif old != role:
        keep_an_owner(roles.values(), old, role)
        await store.set_role(business_id, user, role)
        details = {"from": old, "to": role}
        await store.audit(business_id, actor, audit.MEMBER_ROLE_CHANGED, user, details)
    return old, role
