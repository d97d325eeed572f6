"""The team's rules without any server: roles, the last owner, invites, tokens, keys,
settings; the member changes over an in-memory store (a fake of the unit of work)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from pulse_workspace import team
from pulse_workspace.rules import (
    InviteState,
    Refused,
    check_invite_usable,
    check_invitee,
    check_removal,
    check_role_change,
    last_used_due,
    may_revoke_token,
)
from pulse_workspace.settings import Settings
from pulse_workspace.signing import Signer, public_jwk
from pulse_workspace.tokens import digest, listing_prefix, new_token, well_formed

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SEED = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")


class FakeTeam:
    """The members of one business in memory, and what was audited."""

    def __init__(self, roles: dict[str, str]) -> None:
        self.roles = dict(roles)
        self.revoked: list[str] = []
        self.audited: list[tuple[str, str, str | None]] = []

    async def lock_members(self, business_id: int) -> dict[str, str]:
        return dict(self.roles)

    async def set_role(self, business_id: int, user: str, role: str) -> None:
        self.roles[user] = role

    async def add_member(self, business_id: int, user: str, role: str) -> bool:
        added = user not in self.roles
        self.roles.setdefault(user, role)
        return added

    async def delete_member(self, business_id: int, user: str) -> None:
        del self.roles[user]

    async def revoke_tokens_of(self, business_id: int, user: str) -> None:
        self.revoked.append(user)

    async def audit(
        self,
        business_id: int,
        actor: str,
        action: str,
        subject: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.audited.append((actor, action, subject))


@pytest.mark.parametrize(
    ("actor", "old", "new", "status"),
    [
        ("owner", "viewer", "admin", 0),
        ("owner", "admin", "owner", 0),
        ("owner", "owner", "viewer", 0),  # another owner remains
        ("admin", "viewer", "analyst", 0),
        ("admin", "analyst", "admin", 0),
        ("admin", "viewer", "owner", 403),
        ("admin", "owner", "viewer", 403),
        ("analyst", "viewer", "analyst", 403),
        ("viewer", "viewer", "analyst", 403),
    ],
)
def test_who_may_change_whose_role(actor: str, old: str, new: str, status: int) -> None:
    roles = ["owner", "owner", old]
    if status:
        with pytest.raises(Refused) as refusal:
            check_role_change(actor, old, new, roles)
        assert refusal.value.status == status
        assert "needs manage_" in refusal.value.detail
    else:
        check_role_change(actor, old, new, roles)


@pytest.mark.parametrize("new", ["admin", "analyst", "viewer"])
def test_the_last_owner_keeps_the_business(new: str) -> None:
    with pytest.raises(Refused) as refusal:
        check_role_change("owner", "owner", new, ["owner", "admin"])
    assert refusal.value.status == 409
    with pytest.raises(Refused) as removal:
        check_removal("owner", "owner", ["owner", "viewer"])
    assert removal.value.status == 409


async def test_changes_over_a_fake_store_audit_and_revoke() -> None:
    store = FakeTeam({"olga": "owner", "adam": "admin", "vera": "viewer"})
    assert await team.change_role(store, 1, "adam", "vera", "analyst") == "viewer"
    assert store.roles["vera"] == "analyst"
    assert await team.remove(store, 1, "adam", "vera") == "analyst"
    assert "vera" not in store.roles
    assert store.revoked == ["vera"]
    await team.leave(store, 1, "adam")
    assert store.roles == {"olga": "owner"}
    assert [a[1] for a in store.audited] == [
        "member.role_changed",
        "member.removed",
        "member.left",
    ]


async def test_a_change_by_a_stranger_or_of_a_stranger_is_not_found() -> None:
    store = FakeTeam({"olga": "owner"})
    with pytest.raises(Refused) as stranger:
        await team.change_role(store, 7, "nobody", "olga", "viewer")
    assert (stranger.value.status, stranger.value.detail) == (404, "business 7 not found")
    with pytest.raises(Refused) as missing:
        await team.remove(store, 7, "olga", "nobody")
    assert missing.value.status == 404


async def test_the_last_owner_may_not_leave_but_one_of_two_may() -> None:
    store = FakeTeam({"olga": "owner", "otto": "owner"})
    await team.leave(store, 1, "otto")
    with pytest.raises(Refused) as refusal:
        await team.leave(store, 1, "olga")
    assert refusal.value.status == 409
    assert store.roles == {"olga": "owner"}
    assert store.audited == [("otto", "member.left", "otto")]


async def test_the_operator_adds_and_changes_but_never_orphans() -> None:
    store = FakeTeam({})
    assert await team.put(store, 1, "operator", "olga", "owner") == (None, "owner")
    assert await team.put(store, 1, "operator", "vera", "viewer") == (None, "viewer")
    assert await team.put(store, 1, "operator", "vera", "admin") == ("viewer", "admin")
    with pytest.raises(Refused):
        await team.put(store, 1, "operator", "olga", "viewer")
    # No role named: a member keeps its own, a newcomer is owner.
    assert await team.put(store, 1, "operator", "vera", None) == ("admin", "admin")
    assert await team.put(store, 1, "operator", "nina", None) == (None, "owner")
    assert store.roles == {"olga": "owner", "vera": "admin", "nina": "owner"}


def invite(**changes: Any) -> InviteState:
    fields: dict[str, Any] = {
        "email": "ann@example.com",
        "role": "viewer",
        "expires_at": NOW + timedelta(days=1),
        "accepted_at": None,
        "revoked_at": None,
    }
    return InviteState(**{**fields, **changes})


@pytest.mark.parametrize(
    ("state", "detail"),
    [
        (invite(accepted_at=NOW), "used already"),
        (invite(revoked_at=NOW), "withdrawn"),
        (invite(expires_at=NOW), "expired"),
    ],
)
def test_an_invite_is_used_once_before_it_expires(state: InviteState, detail: str) -> None:
    check_invite_usable(invite(), NOW)
    with pytest.raises(Refused) as refusal:
        check_invite_usable(state, NOW)
    assert refusal.value.status == 410
    assert detail in refusal.value.detail


def test_an_invite_is_for_its_address_only() -> None:
    check_invitee(invite(), "Ann@Example.com")
    for other in ("bob@example.com", None):
        with pytest.raises(Refused) as refusal:
            check_invitee(invite(), other)
        assert refusal.value.status == 403


def test_tokens_are_revoked_by_their_owner_or_a_token_manager() -> None:
    may_revoke_token("viewer", "vera", "vera")
    may_revoke_token("admin", "adam", "vera")
    with pytest.raises(Refused) as refusal:
        may_revoke_token("analyst", "ann", "vera")
    assert refusal.value.status == 403
    assert "manage_tokens" in refusal.value.detail


def test_last_use_is_written_at_most_once_a_minute() -> None:
    assert last_used_due(None, NOW)
    assert not last_used_due(NOW - timedelta(seconds=59), NOW)
    assert last_used_due(NOW - timedelta(seconds=60), NOW)


def test_api_tokens_are_random_prefixed_and_kept_as_digests() -> None:
    token = new_token()
    assert token.startswith("pulse_pat_")
    assert len(token) == 53
    assert well_formed(token)
    assert listing_prefix(token) == token[:14]
    assert digest(token) == hashlib.sha256(token.encode()).digest()
    assert new_token() != token
    assert not well_formed(token + "x")
    assert not well_formed("pulse_pat_short")


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    signer = Signer([base64.urlsafe_b64decode(SEED + "=")], "pulse-workspace", "pulse-api")
    (jwk,) = signer.jwks()["keys"]
    members = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": jwk["x"]}, separators=(",", ":"))
    expected = base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=")
    assert jwk["kid"] == expected.decode()
    token = signer.mint("u", 300, NOW, business_id=5, token_id=9).token
    claims = jwt.decode(token, options={"verify_signature": False})
    assert (claims["pulse_business"], claims["pulse_token"], claims["exp"]) == (
        5,
        9,
        int(NOW.timestamp()) + 300,
    )
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
    seed = base64.urlsafe_b64decode(SEED + "=")
    assert public_jwk(Ed25519PrivateKey.from_private_bytes(seed)) == jwk


def test_rotation_publishes_every_key_and_signs_with_the_first() -> None:
    other = base64.urlsafe_b64encode(bytes(32)).decode()
    both = Signer(
        [base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)) for s in (SEED, other)], "i", "a"
    )
    kids = [k["kid"] for k in both.jwks()["keys"]]
    assert len(set(kids)) == 2
    assert jwt.get_unverified_header(both.mint("u", 60, NOW).token)["kid"] == kids[0]


def test_settings_refuse_to_start_without_a_signing_key_or_with_plain_smtp(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("PULSE_WORKSPACE_SIGNING_KEYS", "PULSE_ENVIRONMENT", "PULSE_SMTP_TLS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError, match="PULSE_WORKSPACE_SIGNING_KEYS is required"):
        Settings(_env_file=None)
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(workspace_signing_keys="c2hvcnQ")
    with pytest.raises(ValidationError, match="PULSE_SMTP_TLS=none"):
        Settings(workspace_signing_keys=SEED, smtp_tls="none")
    assert (
        Settings(
            workspace_signing_keys=SEED,
            environment="test",
            smtp_tls="none",
        ).smtp_tls
        == "none"
    )
    assert len(Settings(workspace_signing_keys=f"{SEED}, {SEED}").signing_seeds()) == 2
    # Empty is unset: an empty operator token opens nothing.
    assert (
        Settings(
            workspace_signing_keys=SEED, workspace_operator_token="  "
        ).workspace_operator_token
        is None
    )
