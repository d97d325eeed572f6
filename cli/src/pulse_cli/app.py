"""The ``pulse`` command: operator chores against Pulse's database.

Connection settings come from the same ``PULSE_*`` environment as the services
(``PULSE_DATABASE_URL`` with the application role, ``PULSE_JWT_SECRET``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import asyncpg
import typer
from rich.console import Console

from pulse_shared.auth import DEFAULT_DEV_SECRET, mint_dev_token
from pulse_shared.db import asyncpg_dsn
from pulse_shared.settings import PulseSettings
from pulse_shared.summaries import set_business_timezone

app = typer.Typer(help="Operator chores for Pulse.", no_args_is_help=True, add_completion=False)
business = typer.Typer(help="Businesses: time zone and more.", no_args_is_help=True)
app.add_typer(business, name="business")
err = Console(stderr=True)

BusinessId = Annotated[int, typer.Argument(min=1, help="The business's id.")]


async def _connect(settings: PulseSettings) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(asyncpg_dsn(settings.database_url), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        err.print(f"[red]cannot reach the database ({exc}); is `make up` running?[/red]")
        raise typer.Exit(1) from exc


async def _add_member(settings: PulseSettings, business_id: int, user: str) -> bool:
    conn = await _connect(settings)
    try:
        async with conn.transaction():
            created = await conn.fetchval(
                "INSERT INTO businesses (id) VALUES ($1) ON CONFLICT (id) DO NOTHING "
                "RETURNING true",
                business_id,
            )
            await conn.execute(
                "INSERT INTO business_members (business_id, user_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING",
                business_id,
                user,
            )
        return bool(created)
    finally:
        await conn.close()


@app.command()
def token(
    business_id: Annotated[
        int, typer.Option("--business-id", min=1, help="The business the user may read.")
    ],
    user: Annotated[str, typer.Option("--user", help="Who the token is for.")] = "dev@pulse.local",
    days: Annotated[int, typer.Option(min=1, max=365, help="How long it stays valid.")] = 30,
) -> None:
    """Make USER a member of a business and print an access token on the last line.

    The business is created if it does not exist yet. The token is a development token
    (HS256 with PULSE_JWT_SECRET); production tokens come from the identity provider.
    """
    settings = PulseSettings()
    if settings.environment != "dev" and settings.jwt_secret == DEFAULT_DEV_SECRET:
        err.print("[red]refusing to mint a token with the default secret outside dev[/red]")
        raise typer.Exit(1)
    created = asyncio.run(_add_member(settings, business_id, user))
    note = " (business created)" if created else ""
    err.print(f"{user} may read business {business_id}{note}; token valid {days} days:")
    print(mint_dev_token(settings.jwt_secret, user, ttl_s=days * 24 * 3600))


@business.command("set-timezone")
def set_timezone(
    business_id: BusinessId,
    timezone: Annotated[str, typer.Argument(help="An IANA zone, e.g. Europe/Berlin.")],
) -> None:
    """Set a business's time zone and rebuild its summaries in it.

    Its days, weeks (from Monday) and months are calendar periods of this zone.
    """
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = sorted(z for z in available_timezones() if timezone.lower() in z.lower())[:5]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        err.print(f"[red]unknown time zone {timezone!r}{hint}[/red]")
        raise typer.Exit(2) from exc

    async def run() -> None:
        conn = await _connect(PulseSettings())
        try:
            await set_business_timezone(conn, business_id, timezone)
            rows = await conn.fetchval(
                "SELECT count(*) FROM analytics_summaries WHERE business_id = $1", business_id
            )
        except LookupError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        finally:
            await conn.close()
        err.print(f"business {business_id} is now in {timezone}; {rows} summary rows rebuilt")

    asyncio.run(run())


def main() -> None:
    app()
