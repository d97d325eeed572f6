"""Alerts over HTTP: listed newest first with the caller's own read marks, marked read per
person, paged; the settings (a webhook's URL refused when it points inside the network, its
signing secret shown once, never again); a preview of what would have fired; managed by
owners and admins; another business's alerts as absent as ones that do not exist."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from pulse_reporter.webhooks import secret_key
from pulse_testing.processes import ServiceProcess
from services.reporter.tests.api_support import Team, client, field_of

pytestmark = pytest.mark.integration
pytest_plugins = ["services.reporter.tests.fixtures"]

SETTINGS = "/alerts/settings"
HOOK = "https://hooks.slack.com/services/T0000/B0000/abcdefghijklmnopqrstuvwx"


async def add_alert(db: asyncpg.Connection, business_id: int, day: str, **over: Any) -> int:
    """An alert as the daily job writes it."""
    values: dict[str, Any] = {
        "kind": "anomaly",
        "platform": "linkedin",
        "metric": "engagement",
        "title": "LinkedIn engagement 41% below usual on Tue 14 Oct",
        "sentence": "Engagement on LinkedIn was 412 on Tue 14 Oct, 41% below your usual "
        "Tuesday (median 700 over the last 6 Tuesdays)",
        "link": "https://pulse.example.com/?business=1#/trends",
        "numbers": {"value": 412, "baseline_median": 700},
        **over,
    }
    alert_id: int = await db.fetchval(
        "INSERT INTO alerts (business_id, alert_key, kind, platform, metric, day, title,"
        " sentence, link, numbers) VALUES ($1, $2, $3, $4, $5, $6::text::date, $7, $8, $9,"
        " $10::jsonb) RETURNING id",
        business_id, f"test:{secrets.token_hex(8)}", values["kind"], values["platform"],
        values["metric"], day, values["title"], values["sentence"], values["link"],
        json.dumps(values["numbers"]),
    )  # fmt: skip
    return alert_id


# --- the alerts --------------------------------------------------------------------------


async def test_alerts_are_listed_newest_first_and_read_per_person(
    reporter_api: ServiceProcess, team: Team, db: asyncpg.Connection
) -> None:
    ids = [await add_alert(db, team.business_id, f"2026-11-{d:02d}") for d in (10, 11, 12)]
    async with client(reporter_api, team.viewer) as api:
        listed = await api.get(team.path("/alerts"))
        assert listed.status_code == 200, listed.text
        answer = listed.json()
        assert [a["id"] for a in answer["alerts"]] == ids[::-1]
        assert answer["unread"] == 3
        assert answer["next_before"] is None
        first = answer["alerts"][0]
        assert first["read"] is False
        assert first["numbers"] == {"value": 412, "baseline_median": 700}
        assert first["sentence"].startswith("Engagement on LinkedIn was 412")
        assert first["day"] == "2026-11-12"

        assert (await api.post(team.path(f"/alerts/{ids[1]}/read"))).status_code == 204
        assert (await api.post(team.path(f"/alerts/{ids[1]}/read"))).status_code == 204
        mine = (await api.get(team.path("/alerts"))).json()
        assert [a["read"] for a in mine["alerts"]] == [False, True, False]
        assert mine["unread"] == 2

    async with client(reporter_api, team.analyst) as api:  # another person's marks are theirs
        theirs = (await api.get(team.path("/alerts"))).json()
        assert [a["read"] for a in theirs["alerts"]] == [False, False, False]
        marked = await api.post(team.path("/alerts/read-all"))
        assert marked.status_code == 200
        assert marked.json() == {"marked": 3}
        assert (await api.post(team.path("/alerts/read-all"))).json() == {"marked": 0}
        assert (await api.get(team.path("/alerts"))).json()["unread"] == 0
    async with client(reporter_api, team.viewer) as api:
        assert (await api.get(team.path("/alerts"))).json()["unread"] == 2


async def test_alerts_are_paged_with_before(
    reporter_api: ServiceProcess, team: Team, db: asyncpg.Connection
) -> None:
    ids = [await add_alert(db, team.business_id, f"2026-10-{d:02d}") for d in range(1, 6)]
    async with client(reporter_api, team.viewer) as api:
        page = (await api.get(team.path("/alerts"), params={"limit": 2})).json()
        assert [a["id"] for a in page["alerts"]] == [ids[4], ids[3]]
        assert page["next_before"] == ids[3]
        page = (await api.get(team.path("/alerts"), params={"limit": 2, "before": ids[3]})).json()
        assert [a["id"] for a in page["alerts"]] == [ids[2], ids[1]]
        page = (await api.get(team.path("/alerts"), params={"limit": 2, "before": ids[1]})).json()
        assert [a["id"] for a in page["alerts"]] == [ids[0]]
        assert page["next_before"] is None
        for params, loc in (
            ({"limit": 0}, ["query", "limit"]),
            ({"limit": 101}, ["query", "limit"]),
            ({"before": 0}, ["query", "before"]),
            ({"before": "x"}, ["query", "before"]),
        ):
            assert field_of(await api.get(team.path("/alerts"), params=params)) == [loc]


async def test_another_business_alerts_are_not_found(
    reporter_api: ServiceProcess, team: Team, other_team: Team, db: asyncpg.Connection
) -> None:
    theirs = await add_alert(db, other_team.business_id, "2026-11-10")
    other = other_team.business_id
    async with client(reporter_api, team.owner) as api:
        for method, tail in (
            ("GET", "/alerts"),
            ("POST", f"/alerts/{theirs}/read"),
            ("POST", "/alerts/read-all"),
            ("GET", SETTINGS),
            ("PUT", SETTINGS),
            ("GET", "/alerts/preview"),
        ):
            body = {"sensitivity": "high"} if method == "PUT" else None
            answer = await api.request(method, team.path(tail, other), json=body)
            assert answer.status_code == 404, (method, tail, answer.text)
            assert answer.json()["detail"] == f"business {other} not found"
        mine = await api.post(team.path(f"/alerts/{theirs}/read"))
        assert mine.status_code == 404
        assert mine.json()["detail"] == f"alert {theirs} not found"
        assert (await api.get(team.path("/alerts"))).json()["alerts"] == []
    assert await db.fetchval("SELECT count(*) FROM alert_reads WHERE alert_id = $1", theirs) == 0


# --- settings ----------------------------------------------------------------------------


async def test_the_webhook_secret_is_shown_once_and_the_url_never_again(
    reporter_api: ServiceProcess, team: Team, db: asyncpg.Connection
) -> None:
    async with client(reporter_api, team.viewer) as api:
        default = await api.get(team.path(SETTINGS))
    assert default.json() == {
        "sensitivity": "medium", "email_recipients": [], "webhook": None, "updated_at": None,
    }  # fmt: skip

    body = {"sensitivity": "high", "email_recipients": ["Team@Example.com"], "webhook_url": HOOK}
    async with client(reporter_api, team.owner) as api:
        saved = await api.put(team.path(SETTINGS), json=body)
        assert saved.status_code == 200, saved.text
        answer = saved.json()
        secret = answer["webhook_secret"]
        assert secret.startswith("whsec_")
        assert len(secret_key(secret)) == 32
        assert answer["sensitivity"] == "high"
        assert answer["email_recipients"] == ["team@example.com"]
        assert answer["webhook"] == {"url_hint": "https://hooks.slack.com/…uvwx", "signed": True}
        stored = await db.fetchrow(
            "SELECT webhook_url, webhook_secret FROM alert_settings WHERE business_id = $1",
            team.business_id,
        )
        assert dict(stored) == {"webhook_url": HOOK, "webhook_secret": secret}

        # The same URL again, or no URL field at all: the secret stays and is not shown.
        again = (await api.put(team.path(SETTINGS), json=body)).json()
        assert again["webhook_secret"] is None
        kept = await api.put(team.path(SETTINGS), json={"sensitivity": "low"})
        assert kept.json()["webhook_secret"] is None
        assert kept.json()["webhook"]["url_hint"] == "https://hooks.slack.com/…uvwx"
        assert kept.json()["email_recipients"] == []

    for person in (team.owner, team.viewer):
        async with client(reporter_api, person) as api:
            shown = await api.get(team.path(SETTINGS))
        assert secret not in shown.text
        assert HOOK not in shown.text
        assert shown.json()["webhook"]["signed"] is True
    assert secret not in reporter_api.log()
    assert HOOK not in reporter_api.log()
    assert await db.fetchval(
        "SELECT webhook_secret FROM alert_settings WHERE business_id = $1", team.business_id
    ) == secret  # fmt: skip

    async with client(reporter_api, team.admin) as api:
        rotated = (
            await api.put(
                team.path(SETTINGS), json={"sensitivity": "low", "rotate_webhook_secret": True}
            )
        ).json()
        assert rotated["webhook_secret"].startswith("whsec_")
        assert rotated["webhook_secret"] != secret
        moved = (
            await api.put(
                team.path(SETTINGS), json={"sensitivity": "low", "webhook_url": HOOK + "2"}
            )
        ).json()
        assert moved["webhook_secret"] not in (None, secret, rotated["webhook_secret"])
        removed = (
            await api.put(team.path(SETTINGS), json={"sensitivity": "low", "webhook_url": None})
        ).json()
        assert removed["webhook"] is None
        assert removed["webhook_secret"] is None
        no_hook = await api.put(
            team.path(SETTINGS), json={"sensitivity": "low", "rotate_webhook_secret": True}
        )
        assert field_of(no_hook) == [["body", "rotate_webhook_secret"]]
    stored = await db.fetchrow(
        "SELECT webhook_url, webhook_secret FROM alert_settings WHERE business_id = $1",
        team.business_id,
    )
    assert dict(stored) == {"webhook_url": None, "webhook_secret": None}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://[::ffff:192.168.0.1]/hook", "private"),
        ("https://localhost/hook", "loopback"),
        ("https://0x7f000001/hook", "non-standard"),
        ("http://hooks.example.com/hook", "https"),
        ("https://user:pw@hooks.example.com/hook", "user name or password"),
        ("ftp://hooks.example.com/hook", "scheme"),
    ],
    ids=["loopback", "private", "metadata", "v6-loopback", "v4-mapped", "localhost", "hex-ip",
         "plain-http", "credentials", "ftp"],
)  # fmt: skip
async def test_a_webhook_inside_the_network_is_refused_with_its_reason(
    reporter_api: ServiceProcess, team: Team, url: str, reason: str
) -> None:
    async with client(reporter_api, team.owner) as api:
        answer = await api.put(team.path(SETTINGS), json={"sensitivity": "low", "webhook_url": url})
        [error] = answer.json()["detail"]
        assert field_of(answer) == [["body", "webhook_url"]]
        assert reason in error["msg"]
        assert (await api.get(team.path(SETTINGS))).json()["webhook"] is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"sensitivity": "extreme"}, ["body", "sensitivity"]),
        ({}, ["body", "sensitivity"]),
        ({"sensitivity": "low", "email_recipients": ["nope"]}, ["body", "email_recipients", 0]),
        ({"sensitivity": "low", "email_recipients": [f"a{i}@example.com" for i in range(51)]},
         ["body", "email_recipients"]),
        ({"sensitivity": "low", "webhook_url": ""}, ["body", "webhook_url"]),
        ({"sensitivity": "low", "webhook_url": "https://x.test/" + "a" * 2000},
         ["body", "webhook_url"]),
        ({"sensitivity": "low", "webhook_secret": "whsec_mine"}, ["body", "webhook_secret"]),
    ],
    ids=["sensitivity", "missing", "address", "too-many", "empty-url", "long-url", "own-secret"],
)  # fmt: skip
async def test_bad_settings_are_refused_naming_the_field(
    reporter_api: ServiceProcess, team: Team, body: dict[str, Any], loc: list[str | int]
) -> None:
    async with client(reporter_api, team.admin) as api:
        assert loc in field_of(await api.put(team.path(SETTINGS), json=body))


async def test_analysts_and_viewers_may_not_change_the_settings(
    reporter_api: ServiceProcess, team: Team
) -> None:
    for person in (team.analyst, team.viewer):
        async with client(reporter_api, person) as api:
            answer = await api.put(team.path(SETTINGS), json={"sensitivity": "high"})
            assert answer.status_code == 403
            assert "manage_reports" in answer.json()["detail"]
            assert (await api.get(team.path(SETTINGS))).status_code == 200
    async with client(reporter_api, team.admin) as api:
        assert (await api.put(team.path(SETTINGS), json={"sensitivity": "high"})).status_code == 200


# --- preview -----------------------------------------------------------------------------


async def test_the_preview_covers_the_last_completed_days(
    reporter_api: ServiceProcess, team: Team, db: asyncpg.Connection
) -> None:
    zone = await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", team.business_id)
    async with client(reporter_api, team.viewer) as api:
        shown = await api.get(team.path("/alerts/preview"), params={"days": 30})
        assert shown.status_code == 200, shown.text
        answer = shown.json()
        yesterday = datetime.now(UTC).astimezone(ZoneInfo(zone)).date() - timedelta(days=1)
        last = date.fromisoformat(answer["last_day"])
        assert last in (yesterday, yesterday + timedelta(days=1))
        assert date.fromisoformat(answer["first_day"]) == last - timedelta(days=29)
        assert answer["sensitivity"] == "medium"  # the business's, the default
        assert answer["alerts"] == []  # a business with no data: nothing would have fired
    async with client(reporter_api, team.analyst) as api:
        for params, loc in (
            ({"sensitivity": "extreme"}, ["query", "sensitivity"]),
            ({"days": 0}, ["query", "days"]),
            ({"days": 91}, ["query", "days"]),
        ):
            assert field_of(await api.get(team.path("/alerts/preview"), params=params)) == [loc]
