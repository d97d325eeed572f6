"""``pulse demo``: demo data through the whole real pipeline.

The demo member (``demo@pulse.local``, a member of each of the simulator's businesses)
connects each business's accounts through each ingest service's OAuth flow, driven over
HTTP as a browser would (``POST /connect/authorize`` with the member's token, the
simulator's consent page signed in as the business's simulated user, the callback, the
choice of accounts where several are offered); the ingest services then find the
accounts' posts and followers. The simulator also publishes its posts (as a publishing
app would), the ingest services poll the simulator's APIs, the aggregator stores it all.

Idempotent: connecting again replaces the same accounts' tokens, the simulator's events
have stable ids. Waits until the first business's posts have numbers; prints one of its
post ids on stdout (``make up`` reads it from the last line).
"""

from __future__ import annotations

import asyncio
import logging
import time
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import asyncpg
import httpx
import structlog

from pulse_cli.connections import CommandFailed, connect_database, err, progress_bar
from pulse_cli.workspace import Workspace
from pulse_shared.db import asyncpg_dsn
from pulse_shared.ingest.settings import IngestSettings
from pulse_shared.logs import CurrentStderr
from pulse_shared.roles import Role

DEFAULT_SIM_URL = "http://127.0.0.1:8200"
DEMO_MEMBER = "demo@pulse.local"


class DemoSettings(IngestSettings):
    """Where the ingest services and the dashboard are (``make up``'s ports)."""

    ingest_linkedin_url: str = "http://127.0.0.1:8101"
    ingest_twitter_url: str = "http://127.0.0.1:8102"
    ingest_meta_url: str = "http://127.0.0.1:8103"
    dashboard_url: str = "http://127.0.0.1:8080"
    reporter_url: str = "http://127.0.0.1:8500"
    # Who the demo's businesses belong to: the identity provider's subject of the demo
    # user (demo@pulse.local), which deploy/local reads from Keycloak.
    demo_user_id: str = DEMO_MEMBER

    def ingest_urls(self) -> list[str]:
        return [self.ingest_linkedin_url, self.ingest_twitter_url, self.ingest_meta_url]


class PageForm(HTMLParser):
    """A page's form as a browser would submit it: its action, its hidden fields, and the
    checkboxes that are checked (the simulator's consent page, ingest's choice page)."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind == "hidden" or (kind == "checkbox" and "checked" in a):
                self.fields.append((a["name"], a.get("value", "")))


def form_of(url: str, html: str) -> tuple[str, list[tuple[str, str]]]:
    form = PageForm()
    form.feed(html)
    return urljoin(url, form.action), form.fields


async def post_form(
    browser: httpx.AsyncClient, url: str, fields: list[tuple[str, str]]
) -> httpx.Response:
    """A form as a browser sends it (a name may repeat: the checked accounts)."""
    return await browser.post(
        url,
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def consent(browser: httpx.AsyncClient, url: str, user: str, decision: str = "allow") -> str:
    """At the platform's consent page: sign in as ``user``, then Allow (or Deny); where the
    platform sends the browser back to."""
    page = await browser.get(url)
    page.raise_for_status()
    target, fields = form_of(str(page.url), page.text)
    answer = await post_form(browser, target, [*fields, ("user", user), ("decision", decision)])
    if answer.status_code != 302:
        raise CommandFailed(f"the consent page at {target} answered {answer.status_code}")
    return answer.headers["location"]


async def connect_through_oauth(
    browser: httpx.AsyncClient,
    ingest_url: str,
    token: str,
    business_id: int,
    user: str,
    return_to: str,
) -> dict[str, list[str]]:
    """One ingest service's flow for one business, as the member's browser: the outcome
    the dashboard would be told (``connected``/``accounts`` or ``connect_error``)."""
    started = await browser.post(
        f"{ingest_url}/connect/authorize",
        json={"business_id": business_id, "return_to": return_to},
        headers={"Authorization": f"Bearer {token}"},
    )
    if started.status_code != 200:
        raise CommandFailed(f"{ingest_url}/connect/authorize answered {started.status_code}: "
                            f"{started.text[:300]}")  # fmt: skip
    back = await browser.get(await consent(browser, started.json()["authorization_url"], user))
    if back.status_code == 200:  # several accounts offered: take them all
        target, fields = form_of(str(back.url), back.text)
        back = await post_form(browser, target, fields)
    if back.status_code != 303:
        raise CommandFailed(f"{ingest_url} did not connect: {back.status_code} {back.text[:300]}")
    return parse_qs(urlsplit(back.headers["location"]).query)


async def connect_accounts(settings: DemoSettings, population: dict[str, Any]) -> int:
    """Each simulated business, its demo member, and its accounts connected through every
    ingest service's OAuth flow; returns the accounts connected."""
    try:
        conn = await asyncpg.connect(asyncpg_dsn(settings.database_url), timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise CommandFailed(f"cannot reach the database ({exc}); is `make up` running?") from exc
    try:
        for business in population["businesses"]:
            await conn.execute(
                "INSERT INTO businesses (id, name, timezone) VALUES ($1, $2, $3) "
                "ON CONFLICT (id) DO NOTHING",
                business["business_id"], business["name"], business["timezone"],
            )  # fmt: skip
    finally:
        await conn.close()
    # The demo user owns every simulated business, through the workspace as any member.
    workspace = Workspace()
    for business in population["businesses"]:
        await workspace.add_member(
            business["business_id"], settings.demo_user_id, Role.OWNER, DEMO_MEMBER
        )
    token = await workspace.access_token(settings.demo_user_id, ttl_s=600)
    user_of = {b: u["user_id"] for u in population["users"] for b in u["business_ids"]}
    return_to = f"{settings.dashboard_url}/connections"
    connected = 0
    async with httpx.AsyncClient(timeout=30, follow_redirects=False) as browser:
        for business in population["businesses"]:
            business_id = business["business_id"]
            for ingest_url in settings.ingest_urls():
                outcome = await connect_through_oauth(
                    browser, ingest_url, token, business_id, user_of[business_id], return_to
                )
                if "connect_error" in outcome:
                    raise CommandFailed(
                        f"{ingest_url} could not connect business {business_id}: "
                        f"{outcome['connect_error'][0]}"
                    )
                connected += int(outcome["accounts"][0])
    return connected


async def polled_posts(settings: IngestSettings, business_id: int) -> list[int]:
    """The business's posts that have numbers (a row in post_analytics)."""
    conn = await connect_database(settings)
    try:
        rows = await conn.fetch(
            "SELECT post_id FROM post_analytics WHERE business_id = $1 ORDER BY post_id",
            business_id,
        )
        return [r["post_id"] for r in rows]
    finally:
        await conn.close()


async def load_demo(settings: DemoSettings, sim_url: str, timeout_s: float) -> tuple[int, int]:
    """Connect, publish, wait; returns the first business and one of its post ids."""
    # Standard output carries the answer (a post id): the vault's log lines go to stderr,
    # and only its warnings.
    structlog.configure(
        logger_factory=structlog.PrintLoggerFactory(CurrentStderr()),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )
    try:
        async with httpx.AsyncClient(base_url=sim_url, timeout=30) as sim:
            answer = await sim.get("/_sim/population", params={"include_posts": "true"})
            answer.raise_for_status()
            population: dict[str, Any] = answer.json()
            accounts = await connect_accounts(settings, population)
            err.print(f"{len(population['businesses'])} businesses, {accounts} accounts connected")
            (await sim.post("/_sim/publish", json={})).raise_for_status()
    except httpx.HTTPError as exc:
        raise CommandFailed(f"the simulator at {sim_url} did not answer ({exc!r})") from exc
    first = population["businesses"][0]
    business_id = first["business_id"]
    wanted = len(first["posts"])
    deadline = time.monotonic() + timeout_s
    with progress_bar() as progress:
        task = progress.add_task(f"business {business_id}'s posts with numbers", total=wanted)
        while True:
            done = await polled_posts(settings, business_id)
            progress.update(task, completed=min(len(done), wanted))
            if done and len(done) >= wanted:
                return business_id, done[0]
            if time.monotonic() > deadline:
                raise CommandFailed(
                    f"{len(done)}/{wanted} posts of business {business_id} polled in time "
                    "(see .run/logs/ingest-*.log and .run/logs/aggregator.log)"
                )
            await asyncio.sleep(0.5)


async def demo_report(settings: DemoSettings, business_id: int, recipient: str) -> bool:
    """A weekly report of the business to ``recipient``, through the reporter's API as the
    demo's owner: the schedule made once, and its first report (the last complete week)
    sent at once rather than next Monday, so that a new user sees it arrive. Idempotent:
    with the schedule already there, nothing is made or sent. Whether it was made."""
    token = await Workspace().access_token(settings.demo_user_id, ttl_s=300)
    schedules = f"/v1/businesses/{business_id}/reports/schedules"
    try:
        async with httpx.AsyncClient(
            base_url=settings.reporter_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as reporter:
            listed = (await reporter.get(schedules)).raise_for_status().json()
            if any(s["kind"] == "weekly" and recipient in s["recipients"] for s in listed):
                return False
            body = {"kind": "weekly", "recipients": [recipient]}
            made = (await reporter.post(schedules, json=body)).raise_for_status().json()
            sent = await reporter.post(f"{schedules}/{made['id']}/send-now", json={})
            sent.raise_for_status()
            return True
    except httpx.HTTPStatusError as exc:
        raise CommandFailed(
            f"the reporter refused the demo's report: {exc.response.status_code} "
            f"{exc.response.text[:300]}"
        ) from exc
    except httpx.HTTPError as exc:
        where = settings.reporter_url
        raise CommandFailed(f"the reporter at {where} did not answer ({exc!r})") from exc
