"""The audit log: what changed, by whom, newest first, a page at a time; owners and admins."""

from __future__ import annotations

import asyncpg
import pytest

from services.workspace.tests.support import Workspace, new_business

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]


async def test_the_log_tells_each_change_newest_first_in_pages(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    business = new_business()
    owner, viewer = workspace.member(business, "owner"), workspace.member(business, "viewer")
    base = f"/v1/businesses/{business}"
    async with workspace.client(owner) as client:
        await client.patch(f"{base}/members/{viewer.user_id}", json={"role": "analyst"})
        token = (await client.post(f"{base}/tokens", json={"name": "n"})).json()
        await client.delete(f"{base}/tokens/{token['id']}")
        await client.delete(f"{base}/members/{viewer.user_id}")
        first = (await client.get(f"{base}/audit", params={"limit": 3})).json()
        rest = (
            await client.get(f"{base}/audit", params={"limit": 3, "before": first["next_before"]})
        ).json()
    actions = [(e["actor"], e["action"], e["subject"]) for e in first["entries"] + rest["entries"]]
    assert actions == [
        (owner.user_id, "member.removed", viewer.user_id),
        (owner.user_id, "token.revoked", owner.user_id),
        (owner.user_id, "token.created", owner.user_id),
        (owner.user_id, "member.role_changed", viewer.user_id),
        ("operator", "member.added", viewer.user_id),
        ("operator", "member.added", owner.user_id),
    ]
    assert first["entries"][0]["details"] == {"role": "analyst"}
    assert rest["entries"][0]["details"] == {"from": "viewer", "to": "analyst"}
    assert rest["next_before"] == rest["entries"][-1]["id"]


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("admin", 200), ("analyst", 403), ("viewer", 403)]
)
async def test_role_table_for_the_audit_log(workspace: Workspace, role: str, status: int) -> None:
    business = new_business()
    reader = workspace.member(business, role)
    async with workspace.client(reader) as client:
        answer = await client.get(f"/v1/businesses/{business}/audit")
    assert answer.status_code == status
    if status == 403:
        assert "read_audit" in answer.json()["detail"]
