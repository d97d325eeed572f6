"""The pulse command against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import httpx
import jwt
import pytest
from typer.testing import CliRunner, Result

from pulse_cli.app import app
from pulse_shared.auth import AUDIENCE
from pulse_testing.infra import Infra
from pulse_testing.processes import free_port
from services.workspace.tests.support import Workspace

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]

runner = CliRunner()


def env(infra: Infra) -> dict[str, str]:
    return {
        "PULSE_DATABASE_URL": infra.database_url,
        "PULSE_REDIS_URL": infra.redis_url,
        "PULSE_JWT_SECRET": infra.jwt_secret,
        "PULSE_ENVIRONMENT": "dev",
    }


async def pulse(infra: Infra, *args: str, **extra_env: str) -> Result:
    """Run the command as a user would (in a thread: it runs its own event loop)."""
    environment = {**env(infra), **extra_env}
    return await asyncio.to_thread(lambda: runner.invoke(app, list(args), env=environment))


def new_business() -> int:
    return secrets.randbelow(2**62) + 10**12


def through(workspace: Workspace) -> dict[str, str]:
    """The pulse command's way to the workspace (as deploy/local/pulse.sh sets it)."""
    return {
        "PULSE_WORKSPACE_URL": workspace.url,
        "PULSE_WORKSPACE_OPERATOR_TOKEN": workspace.operator_token,
    }


async def test_token_makes_a_member_through_the_workspace_and_prints_its_token_last(
    infra: Infra, db: asyncpg.Connection, workspace: Workspace
) -> None:
    business = new_business()
    result = await pulse(
        infra, "token", "--business-id", str(business), "--user", "ana@example.com",
        "--role", "analyst", "--days", "1", **through(workspace),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    async with httpx.AsyncClient(base_url=workspace.url) as client:
        keys = jwt.PyJWKSet.from_dict((await client.get("/.well-known/jwks.json")).json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience=AUDIENCE)
    assert claims["sub"] == "ana@example.com"
    assert claims["exp"] - claims["iat"] == 24 * 3600
    members = await db.fetch(
        "SELECT role FROM business_members WHERE business_id = $1 AND user_id = $2",
        business,
        "ana@example.com",
    )
    assert [m["role"] for m in members] == ["analyst"]
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == "UTC"
    # Twice is fine: the membership is not duplicated, and its role is kept.
    again = await pulse(
        infra, "token", "--business-id", str(business), "--user", "ana@example.com",
        "--days", "1", **through(workspace),
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "ana@example.com is analyst of business" in flat(again.output)


async def test_add_owner_names_a_signed_in_user_at_once_and_invites_anyone_else(
    infra: Infra, db: asyncpg.Connection, workspace: Workspace
) -> None:
    business = new_business()
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    owner = f"o{business}@pulse.test"
    await db.execute("INSERT INTO users (user_id, email) VALUES ($1, $2)", f"sub-{business}", owner)
    known = await pulse(infra, "business", "add-owner", str(business), owner, **through(workspace))
    assert known.exit_code == 0, known.output
    assert f"is now an owner of business {business}" in flat(known.output)
    role = await db.fetchval(
        "SELECT role FROM business_members WHERE business_id = $1 AND user_id = $2",
        business,
        f"sub-{business}",
    )
    assert role == "owner"
    stranger = f"new{business}@pulse.local"
    invited = await pulse(
        infra, "business", "add-owner", str(business), stranger, **through(workspace)
    )
    assert invited.exit_code == 0, invited.output
    assert "an owner invite was mailed to them" in flat(invited.output)
    invite = await db.fetchrow(
        "SELECT role, accepted_at FROM invites WHERE business_id = $1 AND email = $2",
        business,
        stranger,
    )
    assert invite is not None
    assert (invite["role"], invite["accepted_at"]) == ("owner", None)
    missing = await pulse(
        infra, "business", "add-owner", str(2**62 + 7), stranger, **through(workspace)
    )
    assert missing.exit_code == 1
    assert "the workspace refused (404)" in flat(missing.output)


def flat(text: str) -> str:
    return " ".join(text.split())


async def test_set_timezone_moves_the_business(infra: Infra, db: asyncpg.Connection) -> None:
    business = new_business()
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    result = await pulse(infra, "business", "set-timezone", str(business), "Europe/Berlin")
    assert result.exit_code == 0, result.output
    assert "now in Europe/Berlin" in result.output
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == (
        "Europe/Berlin"
    )


def test_bad_input_gets_a_clear_error(infra: Infra, workspace: Workspace) -> None:
    unknown_zone = runner.invoke(
        app, ["business", "set-timezone", "7", "Europe/Berln"], env=env(infra)
    )
    assert unknown_zone.exit_code == 2
    assert "unknown time zone 'Europe/Berln'" in unknown_zone.output
    no_business = runner.invoke(
        app, ["business", "set-timezone", str(2**62 + 5), "UTC"], env=env(infra)
    )
    assert no_business.exit_code == 1
    assert "does not exist" in no_business.output
    zero = runner.invoke(app, ["token", "--business-id", "0"], env=env(infra))
    assert zero.exit_code == 2
    unrouted = runner.invoke(app, ["token", "--business-id", "1"], env=env(infra))
    assert unrouted.exit_code == 1
    assert "PULSE_WORKSPACE_OPERATOR_TOKEN is not set" in flat(unrouted.output)
    wrong_key = runner.invoke(
        app,
        ["token", "--business-id", "1"],
        env={**env(infra), **through(workspace), "PULSE_WORKSPACE_OPERATOR_TOKEN": "x" * 64},
    )
    assert wrong_key.exit_code == 1
    assert "the workspace refused (401)" in flat(wrong_key.output)
    # The workspace (not in dev) caps a token's life at PULSE_JWT_MAX_LIFETIME_S.
    too_long = runner.invoke(
        app,
        ["token", "--business-id", str(new_business()), "--days", "30"],
        env={**env(infra), **through(workspace)},
    )
    assert too_long.exit_code == 1
    assert "(422): ttl_s: at most 86400 s (PULSE_JWT_MAX_LIFETIME_S)" in flat(too_long.output)
    nowhere = runner.invoke(
        app,
        ["token", "--business-id", "1"],
        env={
            **env(infra),
            **through(workspace),
            "PULSE_WORKSPACE_URL": f"http://127.0.0.1:{free_port()}",
        },
    )
    assert nowhere.exit_code == 1
    assert "cannot reach the workspace" in flat(nowhere.output)


async def test_a_zone_change_with_redis_away_is_done_and_says_what_it_could_not_retire(
    infra: Infra, db: asyncpg.Connection
) -> None:
    business = new_business()
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", business)
    result = await pulse(
        infra, "business", "set-timezone", str(business), "Asia/Tokyo",
        PULSE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "may be served for up to a minute" in " ".join(result.output.split())
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == (
        "Asia/Tokyo"
    )
