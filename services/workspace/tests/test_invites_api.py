"""Invites through real mail and a real sign-in: sent over SMTP to Mailpit, the link read
from the mail, accepted once by colleague@pulse.local signed in at Keycloak; expired, used,
withdrawn, for another address; a mail that cannot leave keeps no invite."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from pulse_testing.processes import free_port
from services.workspace.tests.support import (
    Person,
    StartWorkspace,
    Workspace,
    delete_mail,
    invite_secret,
    keycloak_id_token,
    mail_to,
    new_business,
    new_email,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]


def signed_in(workspace: Workspace, user: str) -> Person:
    """``user`` signed in at Keycloak, then at the workspace (/v1/sessions)."""
    answer = httpx.post(
        f"{workspace.url}/v1/sessions", timeout=30, json={"id_token": keycloak_id_token(user)}
    )
    assert answer.status_code == 200, answer.text
    return Person(answer.json()["user"]["user_id"], answer.json()["access_token"])


async def invite(
    workspace: Workspace, by: Person, business: int, email: str, role: str = "analyst"
) -> tuple[dict[str, Any], str]:
    """The invite made, and the secret of the link mailed for it."""
    async with workspace.client(by) as client:
        made = await client.post(
            f"/v1/businesses/{business}/invites", json={"email": email, "role": role}
        )
    assert made.status_code == 201, made.text
    mails = [m for m in mail_to(email) if f"business {business}" in m["Subject"]]
    assert len(mails) == 1
    secret = invite_secret(mails[0])
    delete_mail(mails)
    return made.json(), secret


async def test_an_invite_travels_by_mail_and_is_accepted_after_a_real_sign_in(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    colleague = signed_in(workspace, "colleague@pulse.local")
    business = new_business()
    owner = workspace.member(business, "owner")
    await db.execute("UPDATE businesses SET name = 'Acme Bakery' WHERE id = $1", business)
    await db.execute("INSERT INTO users (user_id, name) VALUES ($1, 'Olga Owner')", owner.user_id)
    async with workspace.client(owner) as client:
        made = await client.post(
            f"/v1/businesses/{business}/invites",
            json={"email": "Colleague@Pulse.Local", "role": "analyst"},
        )
    assert made.status_code == 201, made.text
    invite_out = made.json()
    assert {k: invite_out[k] for k in ("email", "role", "invited_by")} == {
        "email": "colleague@pulse.local",
        "role": "analyst",
        "invited_by": owner.user_id,
    }
    mails = [m for m in mail_to("colleague@pulse.local") if "Acme Bakery" in m["Subject"]]
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == "Olga Owner invited you to Acme Bakery on Pulse"
    assert "Olga Owner" in mail["Text"]
    assert "Acme Bakery" in mail["HTML"]
    secret = invite_secret(mail)
    delete_mail(mails)
    stored = await db.fetchval("SELECT secret_sha256 FROM invites WHERE id = $1", invite_out["id"])
    assert secret.encode() not in stored  # only a digest
    assert len(stored) == 32

    async with workspace.client(colleague) as client:
        accepted = await client.post("/v1/invites/accept", json={"secret": secret})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json() == {
            "business_id": business,
            "name": "Acme Bakery",
            "timezone": "UTC",
            "role": "analyst",
        }
        me = (await client.get("/v1/me")).json()
        assert {
            "business_id": business,
            "name": "Acme Bakery",
            "timezone": "UTC",
            "role": "analyst",
        } in me["businesses"]
        reused = await client.post("/v1/invites/accept", json={"secret": secret})
    assert reused.status_code == 410
    assert "used already" in reused.json()["detail"]
    async with workspace.client(owner) as client:
        pending = (await client.get(f"/v1/businesses/{business}/invites")).json()
        again = await client.post(
            f"/v1/businesses/{business}/invites",
            json={"email": "colleague@pulse.local", "role": "viewer"},
        )
    assert pending == []
    assert again.status_code == 409
    assert "already a member" in again.json()["detail"]
    actions = [
        r["action"]
        for r in await db.fetch(
            "SELECT action FROM audit_log WHERE business_id = $1 ORDER BY id", business
        )
    ]
    assert actions[-3:] == ["invite.created", "invite.accepted", "member.added"]


async def test_an_expired_or_withdrawn_invite_is_refused(
    workspace: Workspace, db: asyncpg.Connection
) -> None:
    colleague = signed_in(workspace, "colleague@pulse.local")
    business = new_business()
    owner = workspace.member(business, "owner")
    expired, expired_secret = await invite(workspace, owner, business, "colleague@pulse.local")
    # The test's clock: the invite's expiry written into the past.
    await db.execute(
        "UPDATE invites SET expires_at = now() - interval '1 second' WHERE id = $1", expired["id"]
    )
    withdrawn, withdrawn_secret = await invite(workspace, owner, business, "colleague@pulse.local")
    async with workspace.client(owner) as client:
        listed = [i["id"] for i in (await client.get(f"/v1/businesses/{business}/invites")).json()]
        assert listed == [withdrawn["id"]]  # the expired one is no longer pending
        gone = await client.delete(f"/v1/businesses/{business}/invites/{withdrawn['id']}")
        assert gone.status_code == 204
        twice = await client.delete(f"/v1/businesses/{business}/invites/{withdrawn['id']}")
        assert twice.status_code == 404
    async with workspace.client(colleague) as client:
        late = await client.post("/v1/invites/accept", json={"secret": expired_secret})
        off = await client.post("/v1/invites/accept", json={"secret": withdrawn_secret})
        unknown = await client.post("/v1/invites/accept", json={"secret": "A" * 43})
    assert late.status_code == 410
    assert "expired" in late.json()["detail"]
    assert off.status_code == 410
    assert "withdrawn" in off.json()["detail"]
    assert unknown.status_code == 404
    assert "no such invite" in unknown.json()["detail"]


async def test_an_invite_for_another_address_is_refused(workspace: Workspace) -> None:
    demo = signed_in(workspace, "demo@pulse.local")
    business = new_business()
    owner = workspace.member(business, "owner")
    _, secret = await invite(workspace, owner, business, new_email("else"))
    unverified = workspace.person()  # signed in without a verified email
    async with workspace.client(demo) as client:
        wrong = await client.post("/v1/invites/accept", json={"secret": secret})
    async with workspace.client(unverified) as client:
        none = await client.post("/v1/invites/accept", json={"secret": secret})
    for answer in (wrong, none):
        assert answer.status_code == 403, answer.text
        assert "another email address" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("actor", "role", "status"),
    [
        ("owner", "owner", 201),
        ("owner", "viewer", 201),
        ("admin", "admin", 201),
        ("admin", "owner", 403),
        ("analyst", "viewer", 403),
        ("viewer", "viewer", 403),
    ],
)
async def test_role_table_for_invites(
    workspace: Workspace, actor: str, role: str, status: int
) -> None:
    business = new_business()
    acting = workspace.member(business, actor)
    email = new_email()
    async with workspace.client(acting) as client:
        made = await client.post(
            f"/v1/businesses/{business}/invites", json={"email": email, "role": role}
        )
        listed = await client.get(f"/v1/businesses/{business}/invites")
    assert made.status_code == status, made.text
    assert listed.status_code == (200 if actor in ("owner", "admin") else 403)
    delete_mail(mail_to(email))


async def test_an_admin_may_not_withdraw_an_owner_invite(workspace: Workspace) -> None:
    business = new_business()
    owner, admin = workspace.member(business, "owner"), workspace.member(business, "admin")
    made, _ = await invite(workspace, owner, business, new_email(), role="owner")
    async with workspace.client(admin) as client:
        refused = await client.delete(f"/v1/businesses/{business}/invites/{made['id']}")
    assert refused.status_code == 403
    assert "manage_owners" in refused.json()["detail"]


async def test_a_mail_that_cannot_leave_keeps_no_invite(
    start_workspace: StartWorkspace, db: asyncpg.Connection
) -> None:
    mailless = start_workspace(PULSE_SMTP_PORT=str(free_port()))  # nothing listens there
    business = new_business()
    owner = mailless.member(business, "owner")
    email = new_email()
    async with mailless.client(owner) as client:
        answer = await client.post(
            f"/v1/businesses/{business}/invites", json={"email": email, "role": "viewer"}
        )
    assert answer.status_code == 502
    assert "no invite was made" in answer.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM invites WHERE email = $1", email) == 0
