"""The ``pulse`` command: operator chores against Pulse's database, Kafka and Redis.

Connection settings come from the same ``PULSE_*`` environment as the services
(``PULSE_DATABASE_URL`` with the application role, ``PULSE_KAFKA_BOOTSTRAP_SERVERS``,
``PULSE_REDIS_URL``, ``PULSE_TOPIC_PREFIX``; members and tokens through the workspace:
``PULSE_WORKSPACE_URL``, ``PULSE_WORKSPACE_OPERATOR_TOKEN``). Each chore's logic is a
module of its own (demo, backfill, dead_letters, rebuild); this module is the commands.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import asyncpg
import typer
from rich.console import Console

from pulse_cli import accounts as accounts_module
from pulse_cli import backfill as backfill_module
from pulse_cli import dead_letters, rebuild
from pulse_cli import demo as demo_module
from pulse_cli.connections import check_range, load_settings, run
from pulse_cli.workspace import Workspace
from pulse_shared.db import asyncpg_dsn
from pulse_shared.events import PLATFORMS
from pulse_shared.ingest.settings import IngestSettings
from pulse_shared.roles import Role
from pulse_shared.settings import PulseSettings
from pulse_shared.summaries import set_business_timezone
from pulse_shared.topics import TOPICS

# Markdown help: a docstring's paragraphs are reflowed to the terminal's width.
HELP_MARKUP: Final = "markdown"
app = typer.Typer(
    help="Operator chores for Pulse.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=HELP_MARKUP,
)
business = typer.Typer(
    help="Businesses: time zone and more.", no_args_is_help=True, rich_markup_mode=HELP_MARKUP
)
app.add_typer(business, name="business")
summaries = typer.Typer(
    help="`analytics_summaries`: rebuild from the source rows.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(summaries, name="summaries")
accounts = typer.Typer(
    help="Connected platform accounts: list, disconnect.",
    no_args_is_help=True,
    rich_markup_mode=HELP_MARKUP,
)
app.add_typer(accounts, name="accounts")
err = Console(stderr=True)

BusinessId = Annotated[int, typer.Argument(min=1, help="The business's id.")]


async def _connect(settings: PulseSettings) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(asyncpg_dsn(settings.database_url), timeout=10)
    except (OSError, asyncpg.PostgresError) as exc:
        err.print(f"[red]cannot reach the database ({exc}); is `make up` running?[/red]")
        raise typer.Exit(1) from exc


@app.command()
def token(
    business_id: Annotated[
        int, typer.Option("--business-id", min=1, help="The business the user may read.")
    ],
    user: Annotated[str, typer.Option("--user", help="Who the token is for.")] = "dev@pulse.local",
    role: Annotated[
        Role | None,
        typer.Option("--role", help="The user's role (default: a member keeps its own; owner)."),
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=365, help="How long it stays valid.")] = 30,
) -> None:
    """Make USER a member of a business and print an access token on the last line.

    Through the workspace service (its operator routes): the business is created if it does
    not exist yet; a member keeps the role it has unless --role names one. The token is the
    workspace's, as a signed-in member's; outside dev it lasts at most
    PULSE_JWT_MAX_LIFETIME_S.
    """

    async def work() -> tuple[dict[str, Any], str]:
        workspace = Workspace()
        member = await workspace.add_member(business_id, user, role)
        return member, await workspace.access_token(user, days * 24 * 3600)

    member, access_token = run(work())
    err.print(f"{user} is {member['role']} of business {business_id}; token valid {days} days:")
    print(access_token)


@business.command("add-owner")
def add_owner(
    business_id: BusinessId,
    email: Annotated[str, typer.Argument(help="The new owner's email address.")],
) -> None:
    """Name an owner of a business, e.g. one first named by an event, which has none.

    A person who has signed in with that (verified) address becomes an owner at once;
    anyone else gets an invite by mail, and becomes owner on accepting it.
    """
    answer = run(Workspace().add_owner(business_id, email))
    if answer.get("invite") is not None:
        invite = answer["invite"]
        err.print(
            f"{email} has not signed in yet: an owner invite was mailed to them "
            f"(expires {invite.get('expires_at')})"
        )
        if answer.get("link"):
            print(answer["link"])
    else:
        err.print(f"{email} is now an owner of business {business_id}")


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
        await rebuild.retire_answers(PulseSettings(), business_id)
        err.print(f"business {business_id} is now in {timezone}; {rows} summary rows rebuilt")

    asyncio.run(run())


DATE_FORMATS = ["%Y-%m-%d"]
DAY = "YYYY-MM-DD"


def _day(value: datetime | None) -> date | None:
    return None if value is None else value.date()


@app.command()
def demo(
    sim: Annotated[str, typer.Option("--sim", help="The platform simulator's URL.")] = (
        demo_module.DEFAULT_SIM_URL
    ),
    timeout: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for the first business's numbers.")
    ] = 120.0,
    report_to: Annotated[
        str | None,
        typer.Option(
            "--report-to",
            help="Also schedule the first business's weekly report to this address, and "
            "send its first one now (once: kept on later runs).",
        ),
    ] = None,
) -> None:
    """Load demo data through the real pipeline, from the platform simulator.

    Connects the simulator's accounts through each ingest service's OAuth flow as the demo
    member (demo@pulse.local), asks the simulator to publish its posts to
    posts.published.v1, and waits, with a
    progress bar, until the ingest services have polled the first business's posts and
    the aggregator has stored their numbers. Prints one of its post ids on the last line.
    Needs the stack running (`make up` runs this). Idempotent.
    """
    settings = load_settings(demo_module.DemoSettings)
    business_id, post_id = run(demo_module.load_demo(settings, sim, timeout))
    if report_to is not None and run(demo_module.demo_report(settings, business_id, report_to)):
        err.print(f"a weekly report of business {business_id} is scheduled to {report_to}; "
                  "its first one is on its way")  # fmt: skip
    print(post_id)


@app.command()
def backfill(
    business_id: Annotated[int, typer.Option("--business-id", min=1, help="The business.")],
    since: Annotated[
        datetime,
        typer.Option(
            formats=DATE_FORMATS, metavar="YYYY-MM-DD", help="First local day (YYYY-MM-DD)."
        ),
    ],
    until: Annotated[
        datetime,
        typer.Option(
            formats=DATE_FORMATS,
            metavar="YYYY-MM-DD",
            help="Last local day, included (YYYY-MM-DD).",
        ),
    ],
    platform: Annotated[
        str | None, typer.Option(help=f"Only this platform: {', '.join(PLATFORMS)}.")
    ] = None,
) -> None:
    """Poll a business's posts published in a range again, now.

    Reads the posts from published_posts (days are the business's local days) and puts
    each on the ingest services' poll schedule in Redis, due now: a post still tracked has
    its next poll moved to now, a post the schedule lost is tracked again. The ingest
    services then poll them within the platforms' rate limits and publish what they see.
    (Not a refresh.requested.v1: that re-polls every post of the business, not the range.)

    Posts older than 90 days are skipped and counted: the schedule stops polling at 90
    days, so their numbers stay those of their last poll.
    """
    check_range(_day(since), _day(until))
    if platform is not None and platform not in PLATFORMS:
        raise typer.BadParameter(f"{platform!r} is not one of {', '.join(PLATFORMS)}")
    report = run(
        backfill_module.backfill(
            load_settings(PulseSettings),
            business_id,
            since.date(),
            until.date(),
            platform,
        )
    )
    due = report.newly_tracked + report.moved + report.already_due
    err.print(
        f"business {business_id}: {report.posts} posts in the range; {due} due now "
        f"({report.newly_tracked} tracked again, {report.moved} moved to now, "
        f"{report.already_due} already due or being polled); "
        f"{report.too_old} older than 90 days skipped (not polled any more)"
    )


@app.command("replay-dlq")
def replay_dlq(
    topic: Annotated[
        str,
        typer.Option(
            help="The source topic whose DLQ to read, e.g. metrics.observed.v1 "
            f"(one of {', '.join(spec.name for spec in TOPICS)}; a .dlq suffix is accepted)."
        ),
    ],
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most this many records (default: all).")
    ] = None,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply/--dry-run", help="Re-publish them (--apply) or only list them (default)."
        ),
    ] = False,
    filter_reason: Annotated[
        str | None,
        typer.Option(help="Only records whose reason contains this text (case-insensitive)."),
    ] = None,
) -> None:
    """Inspect dead-lettered events and, with --apply, re-publish them to their topic.

    Lists each record of `<topic>.dlq` (`PULSE_TOPIC_PREFIX` respected) with its reason, source
    topic/partition/offset and a body excerpt. --apply sends each one back to its source
    topic with its key and headers (the `pulse-dlq-*` headers dropped), in a consumer group
    of its own whose position is committed only after the broker acknowledged the sends:
    running it twice does not send anything twice. Replay after fixing what made the
    consumer refuse them, or they are dead-lettered again. A --filter-reason run keeps its
    own position, so the records it passes over stay for a run without the filter.
    """
    settings = load_settings(PulseSettings)
    report = run(dead_letters.replay_dlq(settings, topic, limit, apply, filter_reason))
    dead_letters.print_letters(report.letters)
    more = f"; {report.remaining} more left (--limit)" if report.remaining else ""
    if apply:
        err.print(f"{report.replayed} record(s) re-published, {report.examined} read{more}")
    else:
        err.print(f"dry run: {len(report.letters)} record(s) would be re-published{more}")


@summaries.command("rebuild")
def summaries_rebuild(
    business_id: Annotated[int, typer.Option("--business-id", min=1, help="The business.")],
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=DATE_FORMATS,
            metavar="YYYY-MM-DD",
            help="First local day (YYYY-MM-DD); with --until.",
        ),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=DATE_FORMATS,
            metavar="YYYY-MM-DD",
            help="Last local day, included; with --since.",
        ),
    ] = None,
) -> None:
    """Recompute a business's summaries from the source rows.

    Without a range: everything of the business, in one transaction (its time zone set
    again to itself, which deletes and recomputes every summary row and rebuilds
    activity_daily from the snapshots). With --since/--until: the local days of the range,
    for every platform, and the weeks, months and years they belong to, a month per
    transaction with a progress bar (activity_daily is left as it is). Summaries are
    derived data: rebuilding is always safe, also while the aggregator runs.
    """
    if (since is None) != (until is None):
        raise typer.BadParameter("give both --since and --until, or neither (everything)")
    settings = load_settings(PulseSettings)
    if since is None or until is None:
        rows = run(rebuild.rebuild_business(settings, business_id))
        run(rebuild.retire_answers(settings, business_id))
        err.print(f"business {business_id}: every summary rebuilt, {rows} rows")
        return
    check_range(since.date(), until.date())
    days = run(rebuild.rebuild_range(settings, business_id, since.date(), until.date()))
    run(rebuild.retire_answers(settings, business_id))
    err.print(
        f"business {business_id}: {days} local days recomputed, {since.date()}..{until.date()}"
    )


@accounts.command("list")
def accounts_list(business_id: BusinessId) -> None:
    """The business's connected accounts: status, posts found, last synced."""
    settings = load_settings(IngestSettings)
    rows = run(accounts_module.list_accounts(settings, business_id))
    if not rows:
        err.print(f"business {business_id} has no connected account")
        return
    for row in rows:
        synced = row.last_synced_at.isoformat() if row.last_synced_at else "never"
        reason = f" ({row.status_reason})" if row.status_reason else ""
        print(
            f"{row.platform}\t{row.account_id}\t{row.display_name}\t{row.status}{reason}\t"
            f"{row.posts_found} posts\tsynced {synced}"
        )


@accounts.command("disconnect")
def accounts_disconnect(
    business_id: BusinessId,
    platform: Annotated[str, typer.Argument(help="linkedin, twitter, facebook or instagram.")],
    account_id: Annotated[str, typer.Argument(help="The account's id on the platform.")],
) -> None:
    """Disconnect an account: its tokens deleted, its polling stopped, its numbers kept.

    The platform is not asked to revoke the grant (the member's Disconnect in the
    dashboard does that); revoke it in the platform's settings if it must end there too.
    """
    if platform not in PLATFORMS:
        raise typer.BadParameter(f"{platform!r} is not one of {', '.join(PLATFORMS)}")
    settings = load_settings(IngestSettings)
    untracked = run(accounts_module.disconnect(settings, business_id, platform, account_id))
    err.print(f"{platform} account {account_id} disconnected; {untracked} posts no longer polled")


def main() -> None:
    app()
