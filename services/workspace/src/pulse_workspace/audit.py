"""The audit log's actions (what changed in a team, a token, a connection), each written in
the unit of work of its change."""

from __future__ import annotations

BUSINESS_CREATED = "business.created"
MEMBER_ADDED = "member.added"
MEMBER_ROLE_CHANGED = "member.role_changed"
MEMBER_REMOVED = "member.removed"
MEMBER_LEFT = "member.left"
INVITE_CREATED = "invite.created"
INVITE_REVOKED = "invite.revoked"
INVITE_ACCEPTED = "invite.accepted"
TOKEN_CREATED = "token.created"  # noqa: S105 - an action's name
TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an action's name
# Written by the ingest services.
ACCOUNT_CONNECTED = "account.connected"
ACCOUNT_DISCONNECTED = "account.disconnected"

# Who an operator's change is by.
OPERATOR = "operator"
