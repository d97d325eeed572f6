"""Every route against bad callers and bad input: another business's id (404), no or a
wrong bearer (401), input that is not what it should be (422 naming the field), a body
too large (413), too many requests (429)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.workspace.tests.support import StartWorkspace, Workspace, new_business

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]

# Every member route: method, path ({b}: a business, {u}: a member, {i}: an id), a valid body.
MEMBER_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/businesses/{b}/members", None),
    ("PATCH", "/v1/businesses/{b}/members/{u}", {"role": "viewer"}),
    ("DELETE", "/v1/businesses/{b}/members/{u}", None),
    ("POST", "/v1/businesses/{b}/leave", None),
    ("POST", "/v1/businesses/{b}/invites", {"email": "x@example.com", "role": "viewer"}),
    ("GET", "/v1/businesses/{b}/invites", None),
    ("DELETE", "/v1/businesses/{b}/invites/{i}", None),
    ("GET", "/v1/businesses/{b}/tokens", None),
    ("POST", "/v1/businesses/{b}/tokens", {"name": "t"}),
    ("DELETE", "/v1/businesses/{b}/tokens/{i}", None),
    ("GET", "/v1/businesses/{b}/audit", None),
]
# The routes without a business in their path, and a valid body.
OTHER_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/me", None),
    ("POST", "/v1/businesses", {"name": "n", "timezone": "UTC"}),
    ("POST", "/v1/invites/accept", {"secret": "A" * 43}),
]
# Bad input, and the field the 422 must name.
BAD_INPUT: list[tuple[str, str, Any, list[str]]] = [
    ("PATCH", "/v1/businesses/{b}/members/{u}", {"role": "god"}, ["body", "role"]),
    (
        "POST",
        "/v1/businesses/{b}/invites",
        {"email": "not-an-address", "role": "viewer"},
        ["body", "email"],
    ),
    (
        "POST",
        "/v1/businesses/{b}/tokens",
        {"name": "t", "expires_in_days": 366},
        ["body", "expires_in_days"],
    ),
    ("POST", "/v1/businesses/{b}/tokens", {"name": "t", "extra": 1}, ["body", "extra"]),
    ("GET", "/v1/businesses/{b}/audit?limit=201", None, ["query", "limit"]),
    ("GET", "/v1/businesses/0/members", None, ["path", "business_id"]),
    ("DELETE", "/v1/businesses/{b}/tokens/abc", None, ["path", "token_id"]),
    ("POST", "/v1/businesses", {"name": "", "timezone": "UTC"}, ["body", "name"]),
    ("POST", "/v1/invites/accept", {"secret": "short"}, ["body", "secret"]),
    ("POST", "/v1/sessions", {"id_token": 7}, ["body", "id_token"]),
    ("POST", "/v1/token", {"api_token": "ghp_something"}, ["body", "api_token"]),
]


def path_of(template: str, business: int, user: str = "someone") -> str:
    return template.format(b=business, u=user, i=1)


@pytest.mark.parametrize(("method", "template", "body"), MEMBER_ROUTES)
async def test_another_business_is_not_found(
    workspace: Workspace, method: str, template: str, body: dict[str, Any] | None
) -> None:
    mine, theirs = new_business(), new_business()
    me = workspace.member(mine, "owner")
    other = workspace.member(theirs, "viewer")
    workspace.member(theirs, "owner")
    for business in (theirs, new_business()):  # another's, and one that does not exist
        async with workspace.client(me) as client:
            answer = await client.request(
                method, path_of(template, business, other.user_id), json=body
            )
        assert answer.status_code == 404, answer.text
        assert answer.json()["detail"] == f"business {business} not found"


@pytest.mark.parametrize(("method", "template", "body"), MEMBER_ROUTES + OTHER_ROUTES)
async def test_no_or_a_wrong_bearer_is_401(
    workspace: Workspace, method: str, template: str, body: dict[str, Any] | None
) -> None:
    forged = workspace.token_for("someone")[:-4] + "AAAA"
    async with httpx.AsyncClient(base_url=workspace.url) as client:
        for headers in (
            {},
            {"Authorization": f"Bearer {forged}"},
            {"Authorization": "Bearer not-a-token"},
        ):
            answer = await client.request(method, path_of(template, 1), json=body, headers=headers)
            assert answer.status_code == 401, answer.text


@pytest.mark.parametrize(("method", "template", "body", "loc"), BAD_INPUT)
async def test_bad_input_is_422_naming_the_field(
    workspace: Workspace, method: str, template: str, body: Any, loc: list[str]
) -> None:
    business = new_business()
    owner = workspace.member(business, "owner")
    async with workspace.client(owner) as client:
        answer = await client.request(method, path_of(template, business), json=body)
    assert answer.status_code == 422, answer.text
    assert loc in [error["loc"] for error in answer.json()["detail"]]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/sessions"),
        ("POST", "/v1/token"),
        ("POST", "/v1/businesses"),
        ("PATCH", "/v1/businesses/1/members/u"),
        ("POST", "/v1/invites/accept"),
        ("POST", "/v1/operator/members"),
    ],
)
async def test_a_body_too_large_is_413(workspace: Workspace, method: str, path: str) -> None:
    person = workspace.person()
    async with workspace.client(person) as client:
        answer = await client.request(
            method,
            path,
            content=b"{" + b" " * 20_000 + b"}",
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 413
    assert answer.json()["detail"] == "the request body may be at most 16384 bytes"


async def test_not_json_is_400(workspace: Workspace) -> None:
    async with workspace.client(workspace.person()) as client:
        answer = await client.post("/v1/businesses", content=b"name=x")
    assert answer.status_code == 400


async def test_too_many_requests_are_429_on_every_route(start_workspace: StartWorkspace) -> None:
    limited = start_workspace(
        PULSE_TOPIC_PREFIX=f"rl-{new_business()}.", PULSE_RATE_LIMIT_ADDRESS="20/60"
    )
    business = new_business()
    owner = limited.member(business, "owner")
    routes = [
        *MEMBER_ROUTES,
        *OTHER_ROUTES,
        ("POST", "/v1/token", {"api_token": "x"}),
        ("POST", "/v1/sessions", {"id_token": "x"}),
        ("GET", "/.well-known/jwks.json", None),
        ("POST", "/v1/operator/tokens", {"user_id": "u", "ttl_s": 60}),
    ]
    async with limited.client(owner) as client:
        for _ in range(20):
            await client.get("/v1/me")
        for method, template, body in routes:
            answer = await client.request(method, path_of(template, business), json=body)
            assert answer.status_code == 429, (template, answer.text)
            assert int(answer.headers["retry-after"]) >= 1
        assert (await client.get("/healthz")).status_code == 200  # probes are not limited


async def test_refused_token_exchanges_are_counted_per_address(
    start_workspace: StartWorkspace,
) -> None:
    limited = start_workspace(
        PULSE_TOPIC_PREFIX=f"rl-{new_business()}.", PULSE_RATE_LIMIT_AUTH_FAILURES="5/60"
    )
    async with httpx.AsyncClient(base_url=limited.url) as client:
        statuses = [
            (
                await client.post("/v1/token", json={"api_token": "pulse_pat_" + "B" * 43})
            ).status_code
            for _ in range(7)
        ]
    assert statuses == [401] * 5 + [429] * 2
