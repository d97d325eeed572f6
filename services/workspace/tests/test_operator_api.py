"""The operator's routes: its bearer only, members and businesses made as events make them,
access tokens within the lifetime allowed, owners named by email (made, or invited)."""

from __future__ import annotations

import asyncpg
import httpx
import jwt
import pytest

from services.workspace.tests.support import (
    StartWorkspace,
    Workspace,
    delete_mail,
    invite_secret,
    mail_to,
    new_business,
    new_email,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]
OPERATOR_ROUTES = ["/v1/operator/members", "/v1/operator/tokens", "/v1/operator/owners"]


async def test_operator_routes_do_not_exist_without_an_operator_token(
    start_workspace: StartWorkspace,
) -> None:
    closed = start_workspace(PULSE_WORKSPACE_OPERATOR_TOKEN="", operator_token="")
    assert closed.operator_token == ""
    async with httpx.AsyncClient(base_url=closed.url, headers={"Authorization": "Bearer x"}) as c:
        for path in OPERATOR_ROUTES:
            assert (await c.post(path, json={})).status_code == 404


async def test_a_wrong_or_missing_operator_bearer_is_401(workspace: Workspace) -> None:
    person = workspace.person()
    async with httpx.AsyncClient(base_url=workspace.url) as client:
        for headers in ({}, {"Authorization": "Bearer " + "0" * 64}, person.headers):
            for path in OPERATOR_ROUTES:
                answer = await client.post(path, json={}, headers=headers)
                assert answer.status_code == 401, (path, answer.text)


async def test_a_member_is_put_in_a_business_made_as_events_make_them(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    business = new_business()
    answer = workspace.operator(
        "/v1/operator/members",
        {
            "business_id": business,
            "user_id": "u-1",
            "role": "admin",
            "email": "U1@Example.com",
            "name": "Una",
        },
    )
    assert answer.json() == {
        "business_id": business,
        "user_id": "u-1",
        "role": "admin",
        "previous_role": None,
    }
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == "UTC"
    user = await db.fetchrow("SELECT email, name FROM users WHERE user_id = 'u-1'")
    assert tuple(user) == ("u1@example.com", "Una")
    changed = workspace.operator(
        "/v1/operator/members", {"business_id": business, "user_id": "u-1", "role": "viewer"}
    )
    assert changed.json()["previous_role"] == "admin"


async def test_access_tokens_are_bounded_by_the_lifetime_allowed(workspace: Workspace) -> None:
    ok = workspace.operator("/v1/operator/tokens", {"user_id": "u-2", "ttl_s": 3600})
    claims = jwt.decode(ok.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "u-2"
    assert claims["exp"] - claims["iat"] == 3600
    too_long = workspace.operator("/v1/operator/tokens", {"user_id": "u-2", "ttl_s": 86401})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["loc"] == ["body", "ttl_s"]


async def test_an_owner_named_by_email_is_made_owner_or_invited(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    business = new_business()
    known = new_email("known")
    viewer = workspace.member(business, "viewer", email=known)
    made = workspace.operator("/v1/operator/owners", {"business_id": business, "email": known})
    assert made.status_code == 200, made.text
    assert made.json()["outcome"] == "owner"
    assert made.json()["user_id"] == viewer.user_id
    stranger = new_email("new")
    invited = workspace.operator(
        "/v1/operator/owners", {"business_id": business, "email": stranger}
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["invite"]["role"] == "owner"
    assert invited.json()["link"] is None  # a test stack is not dev: the link only by mail
    mails = mail_to(stranger)
    assert "The Pulse operator invited you" in mails[0]["Subject"]
    assert invite_secret(mails[0])
    delete_mail(mails)
    missing = workspace.operator(
        "/v1/operator/owners", {"business_id": new_business(), "email": stranger}
    )
    assert missing.status_code == 404
