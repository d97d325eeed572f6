"""A Pulse service's token (the reporter's, minted by the workspace's POST /v1/service/tokens)
reads and exports its one business with no membership; another business is as absent as
one that does not exist (404), and it asks for nothing (refresh: 403). And /calendar names
the business."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import HTTPException

from pulse_shared.http_auth import Caller, caller_of_claims
from pulse_shared.roles import Permission
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

ENDPOINTS = [
    ("overview", {}), ("trends", {}), ("trends", {"basis": "activity"}),
    ("platform-comparison", {}), ("best-times", {}), ("top-posts", {}),
    ("content-performance", {}), ("summaries", {}), ("export", {}),
    ("export", {"format": "json"}), ("calendar", {}), ("accounts", {}),
]  # fmt: skip


async def new_business(db: asyncpg.Connection, name: str | None) -> dict[str, int]:
    """A business with a name (or none), one post with numbers, in New York."""
    b = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id, name) VALUES ($1, $2)", b, name)
    post: int = await db.fetchval(
        "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
        "content_type, published_at, event_id) VALUES ($1, 'linkedin', $2, 'a', 'text', $3, $4) "
        "RETURNING id",
        b, uuid.uuid4().hex, datetime(2026, 11, 10, 15, tzinfo=UTC), uuid.uuid4(),
    )  # fmt: skip
    await db.execute(
        "INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
        "likes_count, impressions, engagement_rate, fetched_at) "
        "SELECT business_id, id, platform, platform_post_id, 10, 500, 2.0, published_at "
        "FROM published_posts WHERE id = $1",
        post,
    )
    await set_business_timezone(db, b, "America/New_York")
    return {"id": b, "post": post}


async def service_token(infra: Infra, business_id: int) -> str:
    async with httpx.AsyncClient(base_url=infra.workspace_url, timeout=30) as workspace:
        answer = await workspace.post(
            "/v1/service/tokens",
            json={"business_id": business_id},
            headers={"Authorization": f"Bearer {infra.reporter_service_token}"},
        )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def get(query_api: ServiceProcess, token: str, path: str, **params: Any) -> httpx.Response:
    async with httpx.AsyncClient(
        base_url=query_api.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        return await client.get(f"/api/v1/analytics/{path}", params=params)


@pytest.fixture
async def two(db: asyncpg.Connection) -> tuple[dict[str, int], dict[str, int]]:
    return await new_business(db, "Acme Coffee"), await new_business(db, None)


async def test_a_service_token_reads_and_exports_its_business_without_a_membership(
    infra: Infra, service_query_api: ServiceProcess, two: tuple[dict[str, int], dict[str, int]]
) -> None:
    mine, _ = two
    token = await service_token(infra, mine["id"])
    for path, extra in ENDPOINTS:
        answer = await get(service_query_api, token, path, business_id=mine["id"], **extra)
        assert answer.status_code == 200, (path, extra, answer.text)
    post = await get(service_query_api, token, f"posts/{mine['post']}")
    assert post.status_code == 200, post.text
    assert post.json()["business_id"] == mine["id"]
    calendar = (await get(service_query_api, token, "calendar", business_id=mine["id"])).json()
    assert calendar == {
        "business_id": mine["id"], "name": "Acme Coffee", "timezone": "America/New_York",
        "today": "2026-11-19",
    }  # fmt: skip


async def test_a_service_token_for_one_business_finds_no_other(
    infra: Infra, service_query_api: ServiceProcess, two: tuple[dict[str, int], dict[str, int]]
) -> None:
    mine, theirs = two
    token = await service_token(infra, mine["id"])
    for business in (theirs["id"], mine["id"] + 1):  # another's, and one that does not exist
        for path, extra in ENDPOINTS:
            answer = await get(service_query_api, token, path, business_id=business, **extra)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json() == {"detail": f"business {business} not found"}
    post = await get(service_query_api, token, f"posts/{theirs['post']}")
    assert post.status_code == 404
    assert post.json() == {"detail": f"post {theirs['post']} not found"}


async def test_a_service_token_may_not_ask_for_a_refresh(
    infra: Infra, service_query_api: ServiceProcess, two: tuple[dict[str, int], dict[str, int]]
) -> None:
    mine, theirs = two
    token = await service_token(infra, mine["id"])
    async with httpx.AsyncClient(
        base_url=service_query_api.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        refused = await client.post("/api/v1/analytics/refresh", json={"business_id": mine["id"]})
        assert refused.status_code == 403, refused.text
        assert refused.json() == {
            "detail": f"the reporter service may not refresh in business {mine['id']}"
        }
        other = await client.post("/api/v1/analytics/refresh", json={"business_id": theirs["id"]})
        assert other.status_code == 404


async def test_a_subject_alone_makes_no_service(
    infra: Infra, service_query_api: ServiceProcess, two: tuple[dict[str, int], dict[str, int]]
) -> None:
    """A token naming service:reporter without the service claim (the operator may mint
    one for any user id) is a user's, member of nothing."""
    mine, _ = two
    async with httpx.AsyncClient(base_url=infra.workspace_url, timeout=30) as workspace:
        minted = await workspace.post(
            "/v1/operator/tokens",
            json={"user_id": "service:reporter", "ttl_s": 300},
            headers={"Authorization": f"Bearer {infra.operator_token}"},
        )
    assert minted.status_code == 200, minted.text
    answer = await get(
        service_query_api, minted.json()["access_token"], "calendar", business_id=mine["id"]
    )
    assert answer.status_code == 404


async def test_members_keep_reading_through_the_same_query_api(
    infra: Infra, service_query_api: ServiceProcess, two: tuple[dict[str, int], dict[str, int]]
) -> None:
    """Members' tokens of the workspace are verified there too (as deployed)."""
    mine, theirs = two
    user = f"member-{secrets.token_hex(4)}"
    await infra.token_for(mine["id"], user, role="viewer")
    async with httpx.AsyncClient(base_url=infra.workspace_url, timeout=30) as workspace:
        minted = await workspace.post(
            "/v1/operator/tokens",
            json={"user_id": user, "ttl_s": 300},
            headers={"Authorization": f"Bearer {infra.operator_token}"},
        )
    token = minted.json()["access_token"]
    calendar = await get(service_query_api, token, "calendar", business_id=mine["id"])
    assert calendar.json()["name"] == "Acme Coffee"
    assert (
        await get(service_query_api, token, "export", business_id=mine["id"])
    ).status_code == 403
    assert (
        await get(service_query_api, token, "calendar", business_id=theirs["id"])
    ).status_code == 404


async def test_the_calendar_names_the_business_or_says_null(
    infra: Infra, query_api: ServiceProcess, two: tuple[dict[str, int], dict[str, int]]
) -> None:
    for business, name in zip(two, ("Acme Coffee", None), strict=True):
        _, token = await infra.token_for(business["id"])
        answer = await get(query_api, token, "calendar", business_id=business["id"])
        assert answer.status_code == 200, answer.text
        assert answer.json()["name"] == name


# --- the claims, pure -------------------------------------------------------------------


def test_a_service_token_s_claims_make_a_read_and_export_caller() -> None:
    caller = caller_of_claims(
        "service:reporter", {"pulse_service": "reporter", "pulse_business": 7}
    )
    assert caller == Caller("service:reporter", 7, None, "reporter")
    assert caller.api_token
    assert caller.may_see(7)
    assert not caller.may_see(8)
    assert [p for p in Permission if caller.service_may(p)] == [Permission.READ, Permission.EXPORT]
    member = caller_of_claims("someone", {})
    assert not any(member.service_may(p) for p in Permission)


@pytest.mark.parametrize(
    ("subject", "claims"),
    [
        ("service:reporter", {"pulse_service": "reporter"}),  # no business
        ("service:reporter", {"pulse_service": "reporter", "pulse_business": "7"}),
        ("service:reporter", {"pulse_service": "reporter", "pulse_business": True}),
        ("someone", {"pulse_service": "reporter", "pulse_business": 7}),  # not its subject
        ("service:other", {"pulse_service": "reporter", "pulse_business": 7}),
        ("service:Reporter", {"pulse_service": "Reporter", "pulse_business": 7}),
        ("service:", {"pulse_service": "", "pulse_business": 7}),
        ("service:reporter", {"pulse_service": 1, "pulse_business": 7}),
        (
            "service:reporter",
            {"pulse_service": "reporter", "pulse_business": 7, "pulse_token": 3},
        ),
    ],
)
def test_malformed_service_claims_are_refused(subject: str, claims: dict[str, Any]) -> None:
    with pytest.raises(HTTPException) as refused:
        caller_of_claims(subject, claims)
    assert refused.value.status_code == 401
    assert refused.value.detail == "invalid token: malformed service token claims"
