"""The pulse command against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import jwt
import pytest
from typer.testing import CliRunner, Result

from conftest import Infra, free_port
from pulse_cli.app import app
from pulse_shared.auth import AUDIENCE, DEFAULT_DEV_SECRET

pytestmark = pytest.mark.integration

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


async def test_token_makes_a_member_and_prints_a_token_last(
    infra: Infra, db: asyncpg.Connection
) -> None:
    business = new_business()
    result = await pulse(
        infra, "token", "--business-id", str(business), "--user", "ana@example.com"
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    claims = jwt.decode(token, infra.jwt_secret, algorithms=["HS256"], audience=AUDIENCE)
    assert claims["sub"] == "ana@example.com"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM business_members WHERE business_id = $1 AND user_id = $2",
            business,
            "ana@example.com",
        )
        == 1
    )
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == "UTC"
    # Twice is fine: the membership is not duplicated.
    again = await pulse(infra, "token", "--business-id", str(business), "--user", "ana@example.com")
    assert again.exit_code == 0


async def test_set_timezone_moves_the_business(infra: Infra, db: asyncpg.Connection) -> None:
    business = new_business()
    await pulse(infra, "token", "--business-id", str(business))
    result = await pulse(infra, "business", "set-timezone", str(business), "Europe/Berlin")
    assert result.exit_code == 0, result.output
    assert "now in Europe/Berlin" in result.output
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == (
        "Europe/Berlin"
    )


def test_bad_input_gets_a_clear_error(infra: Infra) -> None:
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
    insecure = runner.invoke(
        app,
        ["token", "--business-id", "1"],
        env={
            **env(infra),
            "PULSE_ENVIRONMENT": "production",
            "PULSE_JWT_SECRET": DEFAULT_DEV_SECRET,
        },
    )
    assert insecure.exit_code == 1
    assert "refusing to mint a token outside dev" in insecure.output
    assert "published or" in insecure.output
    too_long = runner.invoke(
        app,
        ["token", "--business-id", "1", "--days", "30"],
        env={**env(infra), "PULSE_ENVIRONMENT": "production"},
    )
    assert too_long.exit_code == 1
    assert "may last at most 86400 s" in too_long.output


async def test_a_zone_change_with_redis_away_is_done_and_says_what_it_could_not_retire(
    infra: Infra, db: asyncpg.Connection
) -> None:
    business = new_business()
    await pulse(infra, "token", "--business-id", str(business))
    result = await pulse(
        infra, "business", "set-timezone", str(business), "Asia/Tokyo",
        PULSE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "may be served for up to a minute" in " ".join(result.output.split())
    assert await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business) == (
        "Asia/Tokyo"
    )
