"""Onboarding and members over the real service: the role table, the last owner (also
under two demotions at once), removal (tokens revoked, query-api's memory forgotten)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from pulse_shared.memberships import membership_key
from pulse_testing.infra import Infra
from services.workspace.tests.support import Person, Workspace, new_business

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]

ROLES = ("owner", "admin", "analyst", "viewer")


async def test_a_new_business_has_its_creator_as_owner(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    person = workspace.person()
    async with workspace.client(person) as client:
        made = await client.post(
            "/v1/businesses", json={"name": " Acme ", "timezone": "Europe/Berlin"}
        )
        assert made.status_code == 201, made.text
        business = made.json()
        assert business == {
            "business_id": business["business_id"],
            "name": "Acme",
            "timezone": "Europe/Berlin",
            "role": "owner",
        }
        members = (await client.get(f"/v1/businesses/{business['business_id']}/members")).json()
        bad_zone = await client.post("/v1/businesses", json={"name": "X", "timezone": "Mars/Base"})
    assert [(m["user_id"], m["role"]) for m in members] == [(person.user_id, "owner")]
    assert bad_zone.status_code == 422
    assert bad_zone.json()["detail"][0]["loc"] == ["body", "timezone"]
    entry = await db.fetchrow(
        "SELECT actor, action FROM audit_log WHERE business_id = $1", business["business_id"]
    )
    assert tuple(entry) == (person.user_id, "business.created")


async def test_a_new_business_skips_ids_that_events_took(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    taken = await db.fetchval("SELECT last_value + 1 FROM business_ids")
    await db.execute(
        "INSERT INTO businesses (id) VALUES ($1), ($1 + 1) ON CONFLICT DO NOTHING", taken
    )
    async with workspace.client(workspace.person()) as client:
        made = await client.post("/v1/businesses", json={"name": "N", "timezone": "UTC"})
    assert made.status_code == 201
    assert made.json()["business_id"] >= taken + 2


# (acting role, the member's role, the new role) -> status
def may_change(actor: str, old: str, new: str) -> bool:
    return actor == "owner" or (actor == "admin" and "owner" not in (old, new))


CHANGES = [
    (actor, old, new, 200 if may_change(actor, old, new) else 403)
    for actor in ROLES
    for old in ("admin", "viewer", "owner")
    for new in ("analyst", "owner")
    if old != new
]


@pytest.mark.parametrize(("actor", "old", "new", "status"), CHANGES)
async def test_role_table_for_changing_roles(
    workspace: Workspace, actor: str, old: str, new: str, status: int
) -> None:
    business = new_business()
    workspace.member(business, "owner")  # the business keeps an owner whatever happens
    acting = workspace.member(business, actor)
    target = workspace.member(business, old)
    async with workspace.client(acting) as client:
        answer = await client.patch(
            f"/v1/businesses/{business}/members/{target.user_id}", json={"role": new}
        )
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.json()["role"] == new
    else:
        assert "needs manage_" in answer.json()["detail"]


@pytest.mark.parametrize("actor", ROLES)
@pytest.mark.parametrize("target", ROLES)
async def test_role_table_for_removing_and_listing(
    workspace: Workspace, actor: str, target: str
) -> None:
    business = new_business()
    workspace.member(business, "owner")
    acting = workspace.member(business, actor)
    member = workspace.member(business, target)
    allowed = actor == "owner" or (actor == "admin" and target != "owner")
    async with workspace.client(acting) as client:
        listed = await client.get(f"/v1/businesses/{business}/members")
        removed = await client.delete(f"/v1/businesses/{business}/members/{member.user_id}")
    assert listed.status_code == 200
    assert len(listed.json()) == 3
    assert removed.status_code == (204 if allowed else 403), removed.text


async def test_the_last_owner_can_neither_be_demoted_removed_nor_leave(
    workspace: Workspace,
) -> None:
    business = new_business()
    owner = workspace.member(business, "owner")
    async with workspace.client(owner) as client:
        base = f"/v1/businesses/{business}"
        demoted = await client.patch(f"{base}/members/{owner.user_id}", json={"role": "admin"})
        removed = await client.delete(f"{base}/members/{owner.user_id}")
        left = await client.post(f"{base}/leave")
    for answer in (demoted, removed, left):
        assert answer.status_code == 409, answer.text
        assert "at least one owner" in answer.json()["detail"]


async def demote(workspace: Workspace, business: int, actor: Person, target: Person) -> int:
    async with workspace.client(actor) as client:
        path = f"/v1/businesses/{business}/members/{target.user_id}"
        return (await client.patch(path, json={"role": "viewer"})).status_code


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    for _ in range(5):
        business = new_business()
        first, second = workspace.member(business, "owner"), workspace.member(business, "owner")
        statuses = sorted(
            await asyncio.gather(
                demote(workspace, business, first, second),
                demote(workspace, business, second, first),
            )
        )
        # The second to commit either finds itself demoted already (403) or, when it went
        # first to the lock, the other one the last owner (409): never zero owners.
        assert statuses[0] == 200, statuses
        assert statuses[1] in (403, 409), statuses
        owners = await db.fetchval(
            "SELECT count(*) FROM business_members WHERE business_id = $1 AND role = 'owner'",
            business,
        )
        assert owners == 1


async def test_a_removed_member_is_forgotten_at_once_and_loses_its_tokens(
    workspace: Workspace, infra: Infra, db: asyncpg.Connection
) -> None:
    business = new_business()
    admin, viewer = workspace.member(business, "admin"), workspace.member(business, "viewer")
    workspace.member(business, "owner")
    redis = Redis.from_url(infra.redis_url)
    try:
        key = membership_key(business, viewer.user_id)
        await redis.set(key, "UTC", ex=300)  # query-api's memory of the membership
        async with workspace.client(viewer) as mine:
            made = await mine.post(f"/v1/businesses/{business}/tokens", json={"name": "ci"})
            assert made.status_code == 201
        async with workspace.client(admin) as client:
            removed = await client.delete(f"/v1/businesses/{business}/members/{viewer.user_id}")
            assert removed.status_code == 204
            again = await client.delete(f"/v1/businesses/{business}/members/{viewer.user_id}")
            assert again.status_code == 404
        assert await redis.exists(key) == 0
    finally:
        await redis.aclose()
    revoked = await db.fetchval(
        "SELECT revoked_at IS NOT NULL FROM api_tokens WHERE id = $1", made.json()["id"]
    )
    assert revoked
    async with httpx.AsyncClient(base_url=workspace.url) as client:
        exchange = await client.post("/v1/token", json={"api_token": made.json()["token"]})
    assert exchange.status_code == 401
    async with workspace.client(viewer) as gone:
        assert (await gone.get(f"/v1/businesses/{business}/members")).status_code == 404


async def test_a_member_leaves_and_is_forgotten(workspace: Workspace, infra: Infra) -> None:
    business = new_business()
    workspace.member(business, "owner")
    analyst = workspace.member(business, "analyst")
    redis = Redis.from_url(infra.redis_url)
    try:
        key = membership_key(business, analyst.user_id)
        await redis.set(key, "UTC", ex=300)
        async with workspace.client(analyst) as client:
            assert (await client.post(f"/v1/businesses/{business}/leave")).status_code == 204
            assert (await client.get("/v1/me")).json()["businesses"] == []
        assert await redis.exists(key) == 0
    finally:
        await redis.aclose()
