"""Who may do what in a business: the one permission check (DESIGN.md, "Accounts, teams,
reports"). Every service that decides asks :func:`may`; none keeps its own rule.

- **owner**: everything, including naming and removing owners; a business keeps at least
  one (the workspace service refuses to lose its last).
- **admin**: manage members (not owners), invites and connected accounts; manage report
  schedules, the reports' branding and alert settings; read the audit log.
- **analyst**: read everything, export, ask for fresh numbers.
- **viewer**: read.

A personal API token is read-only whatever its owner's role: a caller holding one gets the
role's permissions within :data:`TOKEN_PERMISSIONS` only.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    ANALYST = "analyst"
    VIEWER = "viewer"


ROLES: tuple[str, ...] = tuple(role.value for role in Role)


class Permission(StrEnum):
    READ = "read"  # analytics, posts, connections' status, the members list
    EXPORT = "export"  # the CSV exports
    REFRESH = "refresh"  # refresh.requested.v1: fresh numbers now
    CREATE_TOKEN = "create_token"  # noqa: S105 - a personal, read-only API token of one's own
    MANAGE_ACCOUNTS = "manage_accounts"  # connect and disconnect platform accounts
    MANAGE_MEMBERS = "manage_members"  # invite, change roles and remove (not owners)
    MANAGE_OWNERS = "manage_owners"  # name, demote and remove owners
    MANAGE_TOKENS = "manage_tokens"  # list and revoke other members' API tokens
    READ_AUDIT = "read_audit"
    # report schedules (and send now), the reports' logo and colour, alert settings
    MANAGE_REPORTS = "manage_reports"


_READ = frozenset({Permission.READ, Permission.CREATE_TOKEN})
_ANALYST = _READ | {Permission.EXPORT, Permission.REFRESH}
_ADMIN = _ANALYST | {
    Permission.MANAGE_ACCOUNTS,
    Permission.MANAGE_MEMBERS,
    Permission.MANAGE_TOKENS,
    Permission.READ_AUDIT,
    Permission.MANAGE_REPORTS,
}
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: _READ,
    Role.ANALYST: _ANALYST,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _ADMIN | {Permission.MANAGE_OWNERS},
}
# What a personal API token may do: read, and export what it may read.
TOKEN_PERMISSIONS = frozenset({Permission.READ, Permission.EXPORT})


def may(role: str | None, permission: Permission, *, api_token: bool = False) -> bool:
    """Whether a member of ``role`` (None: not a member) may do ``permission``; with
    ``api_token``, when the caller holds a personal API token rather than a session."""
    if role is None or role not in ROLES:
        return False
    if api_token and permission not in TOKEN_PERMISSIONS:
        return False
    return permission in PERMISSIONS[Role(role)]


def may_assign(role: str | None, assigned: str) -> bool:
    """Whether a member of ``role`` may give someone the role ``assigned`` (invite them with
    it, or change theirs to or from it): admins manage every role but owner."""
    if assigned not in ROLES:
        return False
    needed = Permission.MANAGE_OWNERS if assigned == Role.OWNER else Permission.MANAGE_MEMBERS
    return may(role, needed)
