"""Personal API tokens: created (shown once, stored hashed), exchanged for an access token
that verifies against the JWKS as query-api checks it, read-only, revoked, expired."""

from __future__ import annotations

import hashlib

import asyncpg
import httpx
import pytest

from pulse_shared.http_auth import Authenticator
from pulse_shared.settings import PulseSettings
from services.workspace.tests.support import Workspace, new_business

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]


def jwks_authenticator(workspace: Workspace) -> Authenticator:
    return Authenticator(
        PulseSettings(
            environment="test",
            jwt_jwks_url=f"{workspace.url}/.well-known/jwks.json",
            jwt_issuer="pulse-workspace",
            jwt_audience="pulse-api",
        )
    )


async def exchange(workspace: Workspace, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=workspace.url) as client:
        return await client.post("/v1/token", json={"api_token": token})


async def test_a_token_is_created_exchanged_verified_and_revoked(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    business = new_business()
    viewer = workspace.member(business, "viewer")
    async with workspace.client(viewer) as client:
        made = await client.post(
            f"/v1/businesses/{business}/tokens", json={"name": "notebook", "expires_in_days": 30}
        )
        assert made.status_code == 201, made.text
        created = made.json()
        token = created["token"]
        assert token.startswith("pulse_pat_")
        assert created["prefix"] == token[:14]
        assert created["user_id"] == viewer.user_id
        assert created["last_used_at"] is None
        listed = (await client.get(f"/v1/businesses/{business}/tokens")).json()
        assert [t["id"] for t in listed] == [created["id"]]
        assert "token" not in listed[0]

    stored = await db.fetchrow(
        "SELECT secret_sha256, prefix FROM api_tokens WHERE id = $1", created["id"]
    )
    assert stored["secret_sha256"] == hashlib.sha256(token.encode()).digest()

    answer = await exchange(workspace, token)
    assert answer.status_code == 200, answer.text
    access = answer.json()
    assert access["token_type"] == "Bearer"
    assert access["expires_in"] == 300
    caller = await jwks_authenticator(workspace).caller_of(access["access_token"])
    assert (caller.user, caller.api_token_business, caller.api_token_id) == (
        viewer.user_id,
        business,
        created["id"],
    )
    used = await db.fetchval("SELECT last_used_at FROM api_tokens WHERE id = $1", created["id"])
    assert used is not None

    # Read-only: the access token reads /v1/me (its business only) and manages nothing.
    async with httpx.AsyncClient(
        base_url=workspace.url, headers={"Authorization": f"Bearer {access['access_token']}"}
    ) as as_token:
        me = (await as_token.get("/v1/me")).json()
        assert [b["business_id"] for b in me["businesses"]] == [business]
        refused = await as_token.post(f"/v1/businesses/{business}/tokens", json={"name": "x"})
        assert refused.status_code == 403
        assert "API token" in refused.json()["detail"]

    async with workspace.client(viewer) as client:
        revoked = await client.delete(f"/v1/businesses/{business}/tokens/{created['id']}")
        assert revoked.status_code == 204
        assert (await client.get(f"/v1/businesses/{business}/tokens")).json() == []
    assert (await exchange(workspace, token)).status_code == 401


async def test_last_use_is_written_at_most_once_a_minute(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    business = new_business()
    owner = workspace.member(business, "owner")
    async with workspace.client(owner) as client:
        made = (await client.post(f"/v1/businesses/{business}/tokens", json={"name": "a"})).json()
    assert (await exchange(workspace, made["token"])).status_code == 200
    first = await db.fetchval("SELECT last_used_at FROM api_tokens WHERE id = $1", made["id"])
    assert (await exchange(workspace, made["token"])).status_code == 200
    assert (
        await db.fetchval("SELECT last_used_at FROM api_tokens WHERE id = $1", made["id"]) == first
    )
    # The test's clock: the last use written a minute into the past.
    await db.execute(
        "UPDATE api_tokens SET last_used_at = last_used_at - interval '61 seconds' WHERE id = $1",
        made["id"],
    )
    assert (await exchange(workspace, made["token"])).status_code == 200
    assert (
        await db.fetchval("SELECT last_used_at FROM api_tokens WHERE id = $1", made["id"]) > first
    )


async def test_an_expired_or_unknown_token_or_one_of_a_former_member_is_refused(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    business = new_business()
    owner, analyst = workspace.member(business, "owner"), workspace.member(business, "analyst")
    tokens = []
    for person in (owner, analyst):
        async with workspace.client(person) as client:
            made = await client.post(
                f"/v1/businesses/{business}/tokens", json={"name": "t", "expires_in_days": 1}
            )
            tokens.append(made.json())
    await db.execute(
        "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        tokens[0]["id"],
    )
    # Gone from the team by the operator's hand (not the route that revokes): still refused.
    await db.execute(
        "DELETE FROM business_members WHERE business_id = $1 AND user_id = $2",
        business,
        analyst.user_id,
    )
    unknown = "pulse_pat_" + "A" * 43
    for token in (tokens[0]["token"], tokens[1]["token"], unknown):
        answer = await exchange(workspace, token)
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("actor", "sees_all", "revokes_others"),
    [
        ("owner", True, 204),
        ("admin", True, 204),
        ("analyst", False, 403),
        ("viewer", False, 403),
    ],
)
async def test_role_table_for_tokens(
    workspace: Workspace, actor: str, sees_all: bool, revokes_others: int
) -> None:
    business = new_business()
    other, acting = workspace.member(business, "viewer"), workspace.member(business, actor)
    async with workspace.client(other) as client:
        theirs = (await client.post(f"/v1/businesses/{business}/tokens", json={"name": "o"})).json()
    async with workspace.client(acting) as client:
        mine = await client.post(f"/v1/businesses/{business}/tokens", json={"name": "m"})
        assert mine.status_code == 201
        listed = {
            t["user_id"] for t in (await client.get(f"/v1/businesses/{business}/tokens")).json()
        }
        revoked = await client.delete(f"/v1/businesses/{business}/tokens/{theirs['id']}")
        own = await client.delete(f"/v1/businesses/{business}/tokens/{mine.json()['id']}")
    assert listed == ({other.user_id, acting.user_id} if sees_all else {acting.user_id})
    assert revoked.status_code == revokes_others, revoked.text
    assert own.status_code == 204
