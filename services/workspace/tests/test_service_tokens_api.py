"""POST /v1/service/tokens: the reporter's short-lived access token for one business, minted
for its bearer (PULSE_REPORTER_SERVICE_TOKEN) only, verified as query-api verifies it, and
the abuse every route meets (401, 404, 422 naming the field, 413, 429)."""

from __future__ import annotations

import secrets
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from pulse_shared.http_auth import Authenticator
from pulse_shared.roles import Permission
from pulse_shared.settings import PulseSettings
from pulse_testing.infra import Infra
from services.workspace.tests.support import StartWorkspace, Workspace, new_business

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]

ROUTE = "/v1/service/tokens"


async def ask(url: str, bearer: str | None, **request: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    async with httpx.AsyncClient(base_url=url, timeout=30, headers=headers) as client:
        return await client.post(ROUTE, **request)


@pytest.fixture
async def business(db: asyncpg.Connection) -> int:
    """A business as an event makes it: no member, no name."""
    b = new_business()
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", b)
    return b


async def test_the_reporter_gets_a_short_lived_read_only_token_of_one_business(
    infra: Infra, business: int
) -> None:
    answer = await ask(
        infra.workspace_url, infra.reporter_service_token, json={"business_id": business}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 300)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "service:reporter"
    assert (claims["pulse_service"], claims["pulse_business"]) == ("reporter", business)
    assert "pulse_token" not in claims
    assert claims["exp"] - claims["iat"] == 300

    # Verified as query-api verifies it: from the workspace's JWKS.
    verifier = Authenticator(
        PulseSettings(
            environment="test",
            jwt_jwks_url=f"{infra.workspace_url}/.well-known/jwks.json",
            jwt_issuer="pulse-workspace",
        )
    )
    caller = await verifier.caller_of(body["access_token"])
    assert (caller.user, caller.service, caller.api_token_business) == (
        "service:reporter", "reporter", business,
    )  # fmt: skip
    assert caller.api_token_id is None
    assert caller.may_see(business)
    assert not caller.may_see(business + 1)
    allowed = {p for p in Permission if caller.service_may(p)}
    assert allowed == {Permission.READ, Permission.EXPORT}


async def test_the_service_token_manages_nothing_in_the_workspace(
    infra: Infra, business: int
) -> None:
    token = (
        await ask(infra.workspace_url, infra.reporter_service_token, json={"business_id": business})
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=infra.workspace_url, headers=headers) as client:
        me = await client.get("/v1/me")
        assert me.status_code == 200
        assert me.json()["businesses"] == []  # no member of anything
        for method, path, body in (
            ("GET", f"/v1/businesses/{business}/members", None),
            ("POST", f"/v1/businesses/{business}/tokens", {"name": "t"}),
            ("POST", f"/v1/businesses/{business}/invites", {"email": "a@b.com", "role": "owner"}),
        ):
            answer = await client.request(method, path, json=body)
            assert answer.status_code in (403, 404), (path, answer.text)
        # Nor does it mint more of itself.
        again = await client.post(ROUTE, json={"business_id": business})
        assert again.status_code == 401


async def test_an_unknown_business_is_not_found(infra: Infra) -> None:
    missing = new_business()
    answer = await ask(
        infra.workspace_url, infra.reporter_service_token, json={"business_id": missing}
    )
    assert answer.status_code == 404
    assert answer.json() == {"detail": f"business {missing} not found"}


async def test_no_or_a_wrong_bearer_is_401_before_the_body_is_read(
    infra: Infra, business: int
) -> None:
    member_token = (await infra.token_for(business))[1]
    for bearer in (
        None,
        "x" + infra.reporter_service_token,
        infra.reporter_service_token[:-1],
        infra.operator_token,  # the operator's key opens the operator's routes only
        member_token,
    ):
        for body in ({"business_id": business}, {"business_id": "not a number"}):
            answer = await ask(infra.workspace_url, bearer, json=body)
            assert answer.status_code == 401, (bearer, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"


async def test_without_a_reporter_token_the_route_does_not_exist(
    workspace: Workspace, start_workspace: StartWorkspace
) -> None:
    blank = start_workspace(PULSE_REPORTER_SERVICE_TOKEN="  ")
    for url in (workspace.url, blank.url):  # unset, and blank
        for bearer in (None, "anything"):
            answer = await ask(url, bearer, json={"business_id": 1})
            assert answer.status_code == 404, (url, bearer, answer.text)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({}, ["body", "business_id"]),
        ({"business_id": "7"}, ["body", "business_id"]),  # strict: a string is no id
        ({"business_id": True}, ["body", "business_id"]),
        ({"business_id": 0}, ["body", "business_id"]),
        ({"business_id": 2**63}, ["body", "business_id"]),
        ({"business_id": 1, "user_id": "someone"}, ["body", "user_id"]),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    infra: Infra, body: dict[str, Any], loc: list[str]
) -> None:
    answer = await ask(infra.workspace_url, infra.reporter_service_token, json=body)
    assert answer.status_code == 422, answer.text
    assert loc in [error["loc"] for error in answer.json()["detail"]]


async def test_not_json_is_400_and_too_large_is_413(infra: Infra) -> None:
    token = infra.reporter_service_token
    not_json = await ask(infra.workspace_url, token, content=b"business_id=1")
    assert not_json.status_code == 400
    large = await ask(
        infra.workspace_url,
        token,
        content=b"{" + b" " * 20_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert large.status_code == 413


async def test_it_is_rate_limited_per_bearer_and_refusals_per_address(
    start_workspace: StartWorkspace, business: int
) -> None:
    token = secrets.token_hex(32)
    limited = start_workspace(
        PULSE_TOPIC_PREFIX=f"rl-{new_business()}.",
        PULSE_REPORTER_SERVICE_TOKEN=token,
        PULSE_RATE_LIMIT_TOKEN="5/60",
        PULSE_RATE_LIMIT_AUTH_FAILURES="3/60",
    )
    body = {"json": {"business_id": business}}
    minted = [(await ask(limited.url, token, **body)).status_code for _ in range(6)]
    assert minted == [200] * 5 + [429]
    refused = [(await ask(limited.url, f"guess-{i}", **body)).status_code for i in range(5)]
    assert refused == [401] * 3 + [429] * 2
    last = await ask(limited.url, token, **body)
    assert last.status_code == 429
    assert int(last.headers["retry-after"]) >= 1
