"""Report schedules over HTTP, against the reporter as deployed (its own database role, the
workspace's tokens and roles, query-api for the preview): made, listed, changed, deleted,
sent now and previewed; managed by owners and admins only; another business's schedules
as absent as ones that do not exist; the deliveries' log."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from pulse_reporter.schedules import latest_period
from pulse_testing.processes import ServiceProcess
from services.reporter.tests.api_support import Team, client, field_of

pytestmark = pytest.mark.integration
pytest_plugins = ["services.reporter.tests.fixtures"]

WEEKLY = {
    "kind": "weekly",
    "recipients": ["Boss@Example.com", "boss@example.com", "cfo@example.com"],
}


async def create(reporter: ServiceProcess, team: Team, body: dict[str, Any] | None = None) -> int:
    async with client(reporter, team.owner) as api:
        made = await api.post(team.path("/reports/schedules"), json=body or WEEKLY)
    assert made.status_code == 201, made.text
    schedule_id: int = made.json()["id"]
    return schedule_id


def local_today(timezone: str) -> date:
    return datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()


async def business_timezone(db: asyncpg.Connection, business_id: int) -> str:
    zone: str = await db.fetchval("SELECT timezone FROM businesses WHERE id = $1", business_id)
    return zone


# --- happy paths -------------------------------------------------------------------------


async def test_a_schedule_is_made_listed_changed_and_deleted(
    reporter_api: ServiceProcess, team: Team
) -> None:
    async with client(reporter_api, team.admin) as api:
        made = await api.post(team.path("/reports/schedules"), json={**WEEKLY, "include_csv": True})
        assert made.status_code == 201, made.text
        schedule = made.json()
        assert schedule["kind"] == "weekly"
        assert schedule["recipients"] == ["boss@example.com", "cfo@example.com"]
        assert schedule["include_csv"] is True
        assert schedule["paused"] is False
        assert schedule["business_id"] == team.business_id
        assert schedule["created_by"] == team.admin.user_id
        one = team.path(f"/reports/schedules/{schedule['id']}")

        changed = await api.patch(one, json={"paused": True, "recipients": ["new@example.com"]})
        assert changed.status_code == 200, changed.text
        assert changed.json()["paused"] is True
        assert changed.json()["recipients"] == ["new@example.com"]
        assert changed.json()["include_csv"] is True  # left as it was

    async with client(reporter_api, team.viewer) as api:
        listed = await api.get(team.path("/reports/schedules"))
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == [schedule["id"]]

    async with client(reporter_api, team.owner) as api:
        assert (await api.delete(one)).status_code == 204
        assert (await api.delete(one)).status_code == 404
        assert (await api.get(team.path("/reports/schedules"))).json() == []


async def test_send_now_queues_the_last_complete_period_in_the_business_zone(
    reporter_api: ServiceProcess, team: Team, db: asyncpg.Connection
) -> None:
    schedule_id = await create(reporter_api, team, {**WEEKLY, "kind": "monthly"})
    zone = await business_timezone(db, team.business_id)
    before = latest_period("monthly", local_today(zone))
    async with client(reporter_api, team.owner) as api:
        sent = await api.post(team.path(f"/reports/schedules/{schedule_id}/send-now"), json={})
    after = latest_period("monthly", local_today(zone))
    assert sent.status_code == 202, sent.text
    answer = sent.json()
    period = (
        date.fromisoformat(answer["period"]["start"]),
        date.fromisoformat(answer["period"]["end"]),
    )
    assert period in ((before.start, before.end), (after.start, after.end))
    assert period[0].day == 1
    row = await db.fetchrow(
        "SELECT schedule_id, status, period_start FROM report_deliveries WHERE delivery_key = $1",
        answer["delivery_key"],
    )
    assert dict(row) == {"schedule_id": schedule_id, "status": "pending", "period_start": period[0]}


async def test_send_now_takes_a_period_of_complete_days(
    reporter_api: ServiceProcess, team: Team, db: asyncpg.Connection
) -> None:
    schedule_id = await create(reporter_api, team)
    path = team.path(f"/reports/schedules/{schedule_id}/send-now")
    today = local_today(await business_timezone(db, team.business_id))
    async with client(reporter_api, team.admin) as api:
        sent = await api.post(path, json={"period": {"start": "2026-11-02", "end": "2026-11-08"}})
        assert sent.status_code == 202, sent.text
        assert sent.json()["period"] == {"start": "2026-11-02", "end": "2026-11-08"}
        running = {"start": (today - timedelta(days=3)).isoformat(), "end": today.isoformat()}
        assert field_of(await api.post(path, json={"period": running})) == [
            ["body", "period", "end"]
        ]
        backwards = {"start": "2026-11-08", "end": "2026-11-02"}
        assert field_of(await api.post(path, json={"period": backwards})) == [["body", "period"]]
        ancient = {"start": "1999-12-27", "end": "2000-01-02"}
        assert field_of(await api.post(path, json={"period": ancient})) == [
            ["body", "period", "start"]
        ]
        too_long = {"start": "2024-01-01", "end": "2025-06-30"}
        assert field_of(await api.post(path, json={"period": too_long})) == [["body", "period"]]

        log = await api.get(team.path("/reports/deliveries"), params={"schedule_id": schedule_id})
    assert log.status_code == 200
    [delivery] = log.json()["deliveries"]
    assert delivery["send_now"] is True
    assert delivery["status"] == "pending"
    assert delivery["period"] == {"start": "2026-11-02", "end": "2026-11-08"}
    assert delivery["attempts"] == 0
    assert delivery["next_attempt_at"] is not None


async def test_the_deliveries_log_is_newest_first_with_why(
    reporter_api: ServiceProcess, team: Team, db: asyncpg.Connection
) -> None:
    schedule_id = await create(reporter_api, team)
    rows = [
        ("2026-11-02", "skipped", "no data in the period", 0),
        ("2026-11-09", "failed", "mail: 451 try later (after 5 attempts)", 5),
        ("2026-11-16", "sent", None, 1),
    ]
    for start, status, reason, attempts in rows:
        await db.execute(
            "INSERT INTO report_deliveries (business_id, schedule_id, delivery_key, period_start,"
            " period_end, status, reason, attempts, message_id, finished_at) VALUES ($1, $2, $3,"
            " $4::text::date, $4::text::date + 6, $5, $6, $7, '<m@pulse.test>', now())",
            team.business_id, schedule_id, f"{schedule_id}:{start}", start, status, reason,
            attempts,
        )  # fmt: skip
    async with client(reporter_api, team.viewer) as api:
        log = await api.get(team.path("/reports/deliveries"))
        two = await api.get(team.path("/reports/deliveries"), params={"limit": 2})
        assert field_of(await api.get(team.path("/reports/deliveries"), params={"limit": 0})) == [
            ["query", "limit"]
        ]
        assert field_of(await api.get(team.path("/reports/deliveries"), params={"limit": 101})) == [
            ["query", "limit"]
        ]
    assert log.status_code == 200, log.text
    answer = log.json()["deliveries"]
    assert [(d["status"], d["reason"], d["attempts"]) for d in answer] == [
        ("sent", None, 1),
        ("failed", "mail: 451 try later (after 5 attempts)", 5),
        ("skipped", "no data in the period", 0),
    ]
    assert all(d["finished_at"] and d["next_attempt_at"] is None for d in answer)
    assert [d["period"]["start"] for d in two.json()["deliveries"]] == ["2026-11-16", "2026-11-09"]


async def test_the_preview_is_the_pdf_rendered_now(
    reporter_api: ServiceProcess, team: Team, db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE businesses SET name = 'Acme Bakery' WHERE id = $1", team.business_id)
    schedule_id = await create(reporter_api, team)
    path = team.path(f"/reports/schedules/{schedule_id}/preview.pdf")
    async with client(reporter_api, team.viewer) as api:
        shown = await api.get(path, params={"period_start": "2026-11-02"})
        assert field_of(await api.get(path, params={"period_start": "2026-11-03"})) == [
            ["query", "period_start"]
        ]
    assert shown.status_code == 200, shown.text
    assert shown.headers["content-type"] == "application/pdf"
    assert (
        shown.headers["content-disposition"] == 'inline; filename="acme-bakery-week-2026-11-02.pdf"'
    )
    assert shown.headers["cache-control"] == "private, no-store"
    assert shown.content.startswith(b"%PDF-")
    assert len(shown.content) > 5_000


# --- who may -----------------------------------------------------------------------------


async def test_analysts_and_viewers_may_read_but_not_manage(
    reporter_api: ServiceProcess, team: Team
) -> None:
    schedule_id = await create(reporter_api, team)
    one = team.path(f"/reports/schedules/{schedule_id}")
    for person in (team.analyst, team.viewer):
        async with client(reporter_api, person) as api:
            assert (await api.get(team.path("/reports/schedules"))).status_code == 200
            assert (await api.get(team.path("/reports/deliveries"))).status_code == 200
            refused = [
                await api.post(team.path("/reports/schedules"), json=WEEKLY),
                await api.patch(one, json={"paused": True}),
                await api.post(f"{one}/send-now", json={}),
                await api.delete(one),
            ]
        for answer in refused:
            assert answer.status_code == 403, answer.text
            assert "manage_reports" in answer.json()["detail"]
    async with client(reporter_api, team.owner) as api:
        assert (await api.get(one.rsplit("/", 1)[0])).json()[0]["paused"] is False


async def test_owners_and_admins_manage(reporter_api: ServiceProcess, team: Team) -> None:
    for person in (team.owner, team.admin):
        async with client(reporter_api, person) as api:
            made = await api.post(team.path("/reports/schedules"), json=WEEKLY)
            assert made.status_code == 201, made.text
            one = team.path(f"/reports/schedules/{made.json()['id']}")
            assert (await api.patch(one, json={"include_csv": True})).status_code == 200
            assert (await api.post(f"{one}/send-now", json={})).status_code == 202
            assert (await api.delete(one)).status_code == 204


# --- another business ----------------------------------------------------------------------


async def test_another_business_and_its_schedules_are_not_found(
    reporter_api: ServiceProcess, team: Team, other_team: Team
) -> None:
    theirs = await create(reporter_api, other_team)
    mine = await create(reporter_api, team)
    async with client(reporter_api, team.owner) as api:
        # Their business, by its own path.
        for method, tail, body in (
            ("GET", "/reports/schedules", None),
            ("POST", "/reports/schedules", WEEKLY),
            ("GET", "/reports/deliveries", None),
            ("PATCH", f"/reports/schedules/{theirs}", {"paused": True}),
            ("DELETE", f"/reports/schedules/{theirs}", None),
            ("POST", f"/reports/schedules/{theirs}/send-now", {}),
            ("GET", f"/reports/schedules/{theirs}/preview.pdf", None),
        ):
            answer = await api.request(method, team.path(tail, other_team.business_id), json=body)
            assert answer.status_code == 404, (method, tail, answer.text)
            assert answer.json()["detail"] == f"business {other_team.business_id} not found"
        # Their schedule's id under my business.
        for method, tail, body in (
            ("PATCH", f"/reports/schedules/{theirs}", {"paused": True}),
            ("DELETE", f"/reports/schedules/{theirs}", None),
            ("POST", f"/reports/schedules/{theirs}/send-now", {}),
            ("GET", f"/reports/schedules/{theirs}/preview.pdf", None),
            ("GET", f"/reports/deliveries?schedule_id={theirs}", None),
        ):
            answer = await api.request(method, team.path(tail), json=body)
            assert answer.status_code == 404, (method, tail, answer.text)
            assert answer.json()["detail"] == f"schedule {theirs} not found"
        assert [s["id"] for s in (await api.get(team.path("/reports/schedules"))).json()] == [mine]
    async with client(reporter_api, other_team.owner) as api:
        listed = (await api.get(other_team.path("/reports/schedules"))).json()
    assert [(s["id"], s["paused"]) for s in listed] == [(theirs, False)]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"kind": "daily", "recipients": ["a@example.com"]}, ["body", "kind"]),
        ({"kind": "weekly", "recipients": ["a@example.com", "not an address"]},
         ["body", "recipients", 1]),
        ({"kind": "weekly", "recipients": ["a@example.com\r\nBcc: x@evil.test"]},
         ["body", "recipients", 0]),
        ({"kind": "weekly", "recipients": []}, ["body", "recipients"]),
        ({"kind": "weekly", "recipients": [f"p{i}@example.com" for i in range(51)]},
         ["body", "recipients"]),
        ({"kind": "weekly", "recipients": ["a@example.com"], "include_csv": "yes"},
         ["body", "include_csv"]),
        ({"kind": "weekly", "recipients": ["a@example.com"], "owner": "me"}, ["body", "owner"]),
    ],
    ids=["kind", "address", "header-injection", "none", "too-many", "csv-not-bool", "unknown"],
)  # fmt: skip
async def test_a_bad_schedule_is_refused_naming_the_field(
    reporter_api: ServiceProcess, team: Team, body: dict[str, Any], loc: list[str | int]
) -> None:
    async with client(reporter_api, team.owner) as api:
        answer = await api.post(team.path("/reports/schedules"), json=body)
        assert loc in field_of(answer)
        assert (await api.get(team.path("/reports/schedules"))).json() == []


async def test_a_bad_change_is_refused_naming_the_field(
    reporter_api: ServiceProcess, team: Team
) -> None:
    one = team.path(f"/reports/schedules/{await create(reporter_api, team)}")
    async with client(reporter_api, team.owner) as api:
        assert field_of(await api.patch(one, json={})) == [["body"]]
        assert field_of(await api.patch(one, json={"paused": 1})) == [["body", "paused"]]
        assert field_of(await api.patch(one, json={"kind": "monthly"})) == [["body", "kind"]]
        zero = team.path("/reports/schedules/0")
        assert field_of(await api.patch(zero, json={"paused": True})) == [["path", "schedule_id"]]
        not_json = await api.patch(one, content=b"{", headers={"Content-Type": "application/json"})
        assert not_json.status_code == 400
