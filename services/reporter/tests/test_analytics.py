"""QueryApiAnalytics: the reporter's analytics, read from the session's real query-api with
tokens of the session's real workspace, for a small business planted below; then its
retries, caps and errors against stand-ins (no server).

The business (Europe/Berlin, so the session query-api's today, QUERY_API_NOW, is Fri 20 Nov
2026 there; the last complete week is Mon 9 - Sun 15 Nov):

| post | platform | published (UTC) | snapshots (UTC): likes, comments, shares, impressions |
|------|----------|-----------------|-------------------------------------------------------|
| L0   | linkedin | Tue 3 Nov 09:00 | 3 Nov 18:00: 4, 0, 0, 200                             |
| L1   | linkedin | Tue 10 Nov 09:00| 12 Nov 10:00: 10, 2, 1, 400; 13 Nov 10:00: 20, 3, 2, 900 |
| X1   | twitter  | Wed 11 Nov 08:00| 11 Nov 12:00: 5, 1, 2, 300; 12 Nov 12:00: 9, 1, 4, 700 |

L1 was first seen two days after it went out: what it had then (13 engagements, 400
impressions) counts on its publish day, 10 Nov, which is therefore estimated. The LinkedIn
page had 1,000 followers on 10 Nov, 1,010 on 11 Nov, 1,030 on 13 Nov (12:00 UTC each).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from pulse_reporter.analytics import (
    AnalyticsError,
    AnalyticsUnavailable,
    BusinessNotFound,
    ExportTooLarge,
    QueryApiAnalytics,
    RetryPolicy,
)
from pulse_reporter.anomalies import DayValue, Reconnection
from pulse_reporter.ports import Analytics, BusinessInfo
from pulse_reporter.report_data import (
    Period,
    PeriodKind,
    build_report,
    last_complete_period,
    query_api_requests,
)
from pulse_shared import formulas
from pulse_shared.db import asyncpg_dsn
from pulse_shared.summaries import set_business_timezone
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

NAME = "Nordwind Bakery"
ZONE = "Europe/Berlin"
WEEK = Period(date(2026, 11, 9), date(2026, 11, 15))
NEVER_SYNCED_SINCE = datetime(2026, 11, 1, 8, tzinfo=UTC)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


Numbers = tuple[int, int, int, int]  # likes, comments, shares, impressions


async def add_post(
    db: asyncpg.Connection, business: int, platform: str, published: datetime,
    snapshots: list[tuple[datetime, Numbers]],
) -> int:  # fmt: skip
    """A post, its snapshots, and the last of them as its latest numbers."""
    post_id = uuid.uuid4().hex
    pulse_id: int = await db.fetchval(
        "INSERT INTO published_posts (business_id, platform, platform_post_id, account_id, "
        "content_type, published_at, content_preview, event_id) "
        "VALUES ($1, $2, $3, 'a', 'text', $4, 'Fresh bread', $5) RETURNING id",
        business, platform, post_id, published, uuid.uuid4(),
    )  # fmt: skip
    columns = "likes_count, comments_count, shares_count, impressions"
    for observed, numbers in snapshots:
        await db.execute(
            f"INSERT INTO post_metric_snapshots (business_id, platform, platform_post_id, "
            f"observed_at, source, event_id, {columns}) "
            "VALUES ($1, $2, $3, $4, 'poll', $5, $6, $7, $8, $9)",
            business, platform, post_id, observed, uuid.uuid4(), *numbers,
        )  # fmt: skip
    fetched, (likes, comments, shares, impressions) = snapshots[-1]
    await db.execute(
        f"INSERT INTO post_analytics (business_id, post_id, platform, platform_post_id, "
        f"{columns}, engagement_rate, fetched_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        business, pulse_id, platform, post_id, likes, comments, shares, impressions,
        formulas.engagement_rate(likes, comments, shares, impressions), fetched,
    )  # fmt: skip
    return pulse_id


async def add_accounts(db: asyncpg.Connection, business: int) -> None:
    """Two accounts that need reconnecting (one never synced) and a disconnected one; none
    active, so no ingest service of another test polls them."""
    await db.execute(
        "INSERT INTO connected_accounts (business_id, platform, account_id, encrypted_token, "
        "status, status_reason, display_name, last_synced_at, created_at) VALUES "
        "($1, 'linkedin', 'urn:li:organization:7', 'x', 'needs_reconnection', 'revoked', "
        " 'Nordwind', $2, $3), "
        "($1, 'instagram', '1784', 'x', 'needs_reconnection', 'expired', '@nordwind', "
        " NULL, $3), "
        "($1, 'facebook', '1055', NULL, 'disconnected', NULL, 'Nordwind', $2, $3)",
        business, at(14, 8), NEVER_SYNCED_SINCE,
    )  # fmt: skip


@pytest.fixture(scope="module")
async def bakery(infra: Infra) -> dict[str, int]:
    db = await asyncpg.connect(asyncpg_dsn(infra.database_url))
    try:
        b = secrets.randbelow(2**62) + 10**12
        await db.execute("INSERT INTO businesses (id, name) VALUES ($1, $2)", b, NAME)
        await db.execute("SELECT pulse_ensure_snapshot_partitions($1, $2)", at(1, 0), at(30, 0))
        ids = {
            "L0": await add_post(db, b, "linkedin", at(3, 9), [(at(3, 18), (4, 0, 0, 200))]),
            "L1": await add_post(db, b, "linkedin", at(10, 9), [
                (at(12, 10), (10, 2, 1, 400)), (at(13, 10), (20, 3, 2, 900)),
            ]),
            "X1": await add_post(db, b, "twitter", at(11, 8), [
                (at(11, 12), (5, 1, 2, 300)), (at(12, 12), (9, 1, 4, 700)),
            ]),
        }  # fmt: skip
        for day, followers in ((10, 1000), (11, 1010), (13, 1030)):
            await db.execute(
                "INSERT INTO account_snapshots (business_id, platform, account_id, observed_at, "
                "followers, event_id) VALUES ($1, 'linkedin', 'page', $2, $3, $4)",
                b, at(day, 12), followers, uuid.uuid4(),
            )  # fmt: skip
        await add_accounts(db, b)
        # Written behind the aggregator's back: rebuild what it keeps (summaries, activity).
        await set_business_timezone(db, b, ZONE)
    finally:
        await db.close()
    return {"id": b, **ids}


async def service_token(infra: Infra, business_id: int) -> str:
    """What the reporter gets from the workspace, asked for by hand."""
    async with httpx.AsyncClient(base_url=infra.workspace_url, timeout=30) as workspace:
        answer = await workspace.post(
            "/v1/service/tokens",
            json={"business_id": business_id},
            headers={"Authorization": f"Bearer {infra.reporter_service_token}"},
        )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


async def answers_by_hand(
    infra: Infra, query_api: ServiceProcess, business_id: int, kind: PeriodKind, period: Period
) -> dict[str, Any]:
    """build_report's keywords from query-api's answers, fetched without the client."""
    token = await service_token(infra, business_id)
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=query_api.url, headers=headers, timeout=60) as client:
        for name, (path, params) in query_api_requests(business_id, kind, period).items():
            answer = await client.get(path, params=params)
            assert answer.status_code == 200, (name, answer.text)
            out[name] = answer.json()
    return out


# --- against the session's workspace and query-api ----------------------------------------


async def test_it_is_the_reporter_s_analytics_port(reporter_analytics: QueryApiAnalytics) -> None:
    port: Analytics = reporter_analytics
    assert port is reporter_analytics


async def test_business_gives_the_name_and_the_zone(
    reporter_analytics: QueryApiAnalytics, bakery: dict[str, int], db: asyncpg.Connection
) -> None:
    info = await reporter_analytics.business(bakery["id"])
    assert info == BusinessInfo(bakery["id"], NAME, ZONE)
    nameless = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id) VALUES ($1)", nameless)
    unnamed = await reporter_analytics.business(nameless)
    assert unnamed == BusinessInfo(nameless, f"Business {nameless}", "UTC")


@pytest.mark.parametrize(
    ("kind", "period", "previous"),
    [
        ("weekly", WEEK, Period(date(2026, 11, 2), date(2026, 11, 8))),
        ("monthly", Period(date(2026, 10, 1), date(2026, 10, 31)),
         Period(date(2026, 8, 31), date(2026, 9, 30))),
    ],
)  # fmt: skip
async def test_the_report_is_build_report_over_query_api_s_answers(
    infra: Infra,
    service_query_api: ServiceProcess,
    reporter_analytics: QueryApiAnalytics,
    bakery: dict[str, int],
    kind: PeriodKind,
    period: Period,
    previous: Period,
) -> None:
    calendar = await reporter_analytics.business(bakery["id"])
    # The business's today (20 Nov in Berlin) decides the last complete period.
    assert last_complete_period(kind, date(2026, 11, 20)) == (period.start, period.end)
    report = await reporter_analytics.report(bakery["id"], kind, period)
    by_hand = await answers_by_hand(infra, service_query_api, bakery["id"], kind, period)
    assert report == build_report(kind=kind, business_name=calendar.name, **by_hand)
    assert (report.period, report.previous_period) == (period, previous)
    assert (report.business_id, report.business_name, report.timezone) == (
        bakery["id"], NAME, ZONE,
    )  # fmt: skip
    if kind == "weekly":
        posts = report.card("total_posts")
        assert posts is not None
        assert (posts.value, posts.previous) == (2, 1)  # L1, X1; L0 the week before
        # By engagement rate: L1 25 / 900, X1 14 / 700.
        assert [t.post_id for t in report.top_posts] == [bakery["L1"], bakery["X1"]]
        assert {(a.platform, a.name) for a in report.freshness.needs_reconnection} == {
            ("linkedin", "Nordwind"), ("instagram", "@nordwind"),
        }  # fmt: skip


async def test_alert_series_are_activity_days_per_platform_and_metric(
    reporter_analytics: QueryApiAnalytics, bakery: dict[str, int]
) -> None:
    series = await reporter_analytics.alert_series(bakery["id"], WEEK.start, WEEK.end)
    assert set(series) == {
        (platform, metric)
        for platform in ("linkedin", "twitter")
        for metric in ("engagement", "impressions", "followers")
    }
    week = [WEEK.start + timedelta(days=i) for i in range(7)]
    for values in series.values():
        assert [v.day for v in values] == week  # every day, in order

    def day(key: tuple[str, str], d: int) -> DayValue:
        return series[key][d - 9]  # type: ignore[index]

    # L1's first numbers, on its publish day: estimated; what it gained after, not.
    assert day(("linkedin", "engagement"), 10) == DayValue(date(2026, 11, 10), 13, True)
    assert day(("linkedin", "impressions"), 10) == DayValue(date(2026, 11, 10), 400, True)
    assert day(("linkedin", "engagement"), 12) == DayValue(date(2026, 11, 12), 0, False)
    assert day(("linkedin", "engagement"), 13) == DayValue(date(2026, 11, 13), 12, False)
    assert day(("linkedin", "impressions"), 13) == DayValue(date(2026, 11, 13), 500, False)
    assert day(("twitter", "engagement"), 11) == DayValue(date(2026, 11, 11), 8, False)
    assert day(("twitter", "impressions"), 12) == DayValue(date(2026, 11, 12), 400, False)
    # Followers: each day's net change, never estimated; none observed, none told.
    followers = {v.day.day: v.value for v in series[("linkedin", "followers")]}
    assert (followers[10], followers[11], followers[12], followers[13]) == (0, 10, None, 20)
    assert not any(v.estimated for v in series[("linkedin", "followers")])
    assert {v.value for v in series[("twitter", "followers")]} == {None}


async def test_alert_series_span_at_most_what_query_api_answers(
    reporter_analytics: QueryApiAnalytics, bakery: dict[str, int]
) -> None:
    year = await reporter_analytics.alert_series(bakery["id"], date(2025, 11, 15), WEEK.end)
    assert {len(values) for values in year.values()} == {366}
    for first, last in ((date(2025, 11, 14), WEEK.end), (WEEK.end, WEEK.start)):
        with pytest.raises(ValueError, match="alert series span 1 to 366 days"):
            await reporter_analytics.alert_series(bakery["id"], first, last)


async def test_reconnections_name_the_accounts_and_since_when(
    reporter_analytics: QueryApiAnalytics, bakery: dict[str, int]
) -> None:
    found = await reporter_analytics.reconnections(bakery["id"])
    assert found == [
        # Never synced: since it was connected.
        Reconnection(bakery["id"], "instagram", "@nordwind", NEVER_SYNCED_SINCE),
        Reconnection(bakery["id"], "linkedin", "Nordwind", at(14, 8)),
    ]


async def test_export_csv_is_the_period_s_posts_within_its_cap(
    infra: Infra, service_query_api: ServiceProcess, bakery: dict[str, int]
) -> None:
    async with QueryApiAnalytics(
        service_query_api.url, infra.workspace_url, infra.reporter_service_token
    ) as analytics:
        exported = await analytics.export_csv(bakery["id"], WEEK)
    rows = list(csv.DictReader(io.StringIO(exported.decode())))
    assert [int(r["Post ID"]) for r in rows] == [bakery["L1"], bakery["X1"]]
    async with QueryApiAnalytics(
        service_query_api.url, infra.workspace_url, infra.reporter_service_token,
        max_csv_bytes=len(exported) - 1,
    ) as capped:  # fmt: skip
        with pytest.raises(ExportTooLarge):
            await capped.export_csv(bakery["id"], WEEK)


class CountingTransport(httpx.AsyncBaseTransport):
    """The real network, each request's path noted."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def token_requests(self) -> int:
        return self.paths.count("/v1/service/tokens")


async def test_a_token_is_reused_until_shortly_before_it_expires(
    infra: Infra, service_query_api: ServiceProcess, bakery: dict[str, int], db: asyncpg.Connection
) -> None:
    transport = CountingTransport()
    now = [1000.0]
    async with QueryApiAnalytics(
        service_query_api.url, infra.workspace_url, infra.reporter_service_token,
        token_margin_s=60, clock=lambda: now[0], transport=transport,
    ) as analytics:  # fmt: skip
        await analytics.report(bakery["id"], "weekly", WEEK)  # 7 requests at once
        assert transport.token_requests() == 1
        now[0] += 239  # 300 s tokens, renewed 60 s before they expire
        await analytics.business(bakery["id"])
        await analytics.reconnections(bakery["id"])
        assert transport.token_requests() == 1
        now[0] += 1
        await analytics.business(bakery["id"])
        assert transport.token_requests() == 2
        other = secrets.randbelow(2**62) + 10**12
        await db.execute("INSERT INTO businesses (id) VALUES ($1)", other)
        await analytics.business(other)  # a token per business
        await analytics.business(bakery["id"])
        assert transport.token_requests() == 3
    assert len(transport.paths) == 3 + 7 + 5


async def test_a_service_token_cannot_read_another_business(
    infra: Infra,
    service_query_api: ServiceProcess,
    reporter_analytics: QueryApiAnalytics,
    bakery: dict[str, int],
    db: asyncpg.Connection,
) -> None:
    other = secrets.randbelow(2**62) + 10**12
    await db.execute("INSERT INTO businesses (id, name) VALUES ($1, 'Other')", other)
    token = await service_token(infra, other)
    async with httpx.AsyncClient(
        base_url=service_query_api.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for path in ("calendar", "overview", "accounts", "export"):
            answer = await client.get(
                f"/api/v1/analytics/{path}", params={"business_id": bakery["id"]}
            )
            assert answer.status_code == 404, (path, answer.text)
    missing = other + 1
    with pytest.raises(BusinessNotFound) as refused:
        await reporter_analytics.business(missing)
    assert refused.value.status == 404
    assert f"business {missing} not found" in str(refused.value)


# --- against stand-ins: retries, caps, errors --------------------------------------------

QUERY = "http://query-api.test"
WORKSPACE = "http://workspace.test"
TOKEN_ANSWER = {"access_token": "t-1", "token_type": "Bearer", "expires_in": 300}
CALENDAR = {"business_id": 7, "name": "Seven", "timezone": "UTC", "today": "2026-11-19"}


class StandIn:
    """The workspace and query-api: answers in turn for each path, every request kept."""

    def __init__(self, calendar: list[httpx.Response | Exception]) -> None:
        self.calendar = calendar
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        self.tokens = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/service/tokens":
            self.tokens += 1
            return httpx.Response(200, json={**TOKEN_ANSWER, "access_token": f"t-{self.tokens}"})
        answer = self.calendar.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[StandIn, QueryApiAnalytics]]:
    server = StandIn([])
    analytics = QueryApiAnalytics(
        QUERY, WORKSPACE, "secret", transport=httpx.MockTransport(server.handler),
        sleep=server.sleep, retry=RetryPolicy(attempts=3, first_wait_s=0.5, max_wait_s=8),
    )  # fmt: skip
    try:
        yield server, analytics
    finally:
        await analytics.aclose()


def ok() -> httpx.Response:
    return httpx.Response(200, json=CALENDAR)


async def test_connection_errors_and_5xx_are_retried_with_backoff(
    stand_in: tuple[StandIn, QueryApiAnalytics],
) -> None:
    server, analytics = stand_in
    server.calendar += [httpx.ConnectError("refused"), httpx.Response(502), ok()]
    assert (await analytics.business(7)).name == "Seven"
    assert server.sleeps == [0.5, 1.0]
    asked = [r for r in server.requests if r.url.path.endswith("/calendar")]
    assert len(asked) == 3
    assert asked[-1].headers["authorization"] == "Bearer t-1"
    assert asked[-1].url.params["business_id"] == "7"
    token_request = server.requests[0]
    assert token_request.headers["authorization"] == "Bearer secret"
    assert json.loads(token_request.content) == {"business_id": 7}


async def test_a_429_waits_as_long_as_it_asks_within_a_cap(
    stand_in: tuple[StandIn, QueryApiAnalytics],
) -> None:
    server, analytics = stand_in
    server.calendar += [
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(503, headers={"Retry-After": "3600"}),
        ok(),
    ]
    await analytics.business(7)
    assert server.sleeps == [3.0, 30.0]


async def test_after_the_last_attempt_it_is_unavailable(
    stand_in: tuple[StandIn, QueryApiAnalytics],
) -> None:
    server, analytics = stand_in
    server.calendar += [httpx.Response(503, json={"detail": "the database is away"})] * 3
    with pytest.raises(AnalyticsUnavailable) as unavailable:
        await analytics.business(7)
    assert unavailable.value.status == 503
    assert "the database is away" in str(unavailable.value)
    assert len(server.sleeps) == 2


async def test_other_answers_are_final_and_say_what_query_api_said(
    stand_in: tuple[StandIn, QueryApiAnalytics],
) -> None:
    server, analytics = stand_in
    invalid = {"detail": [{"loc": ["query", "end_date"], "msg": "is before start_date"}]}
    server.calendar += [
        httpx.Response(422, json=invalid),
        httpx.Response(403, json={"detail": "no"}),
    ]
    with pytest.raises(AnalyticsError) as refused:
        await analytics.business(7)
    assert refused.value.status == 422
    assert "query.end_date: is before start_date" in str(refused.value)
    with pytest.raises(AnalyticsError) as forbidden:
        await analytics.business(7)
    assert forbidden.value.status == 403
    assert server.sleeps == []


async def test_a_refused_token_is_replaced_once(
    stand_in: tuple[StandIn, QueryApiAnalytics],
) -> None:
    server, analytics = stand_in
    server.calendar += [httpx.Response(401), ok()]
    await analytics.business(7)
    assert server.tokens == 2
    assert server.requests[-1].headers["authorization"] == "Bearer t-2"
    server.calendar += [httpx.Response(401), httpx.Response(401)]
    with pytest.raises(AnalyticsError) as refused:
        await analytics.business(7)
    assert refused.value.status == 401
    assert server.tokens == 3  # t-2 refused, t-3 too


async def test_the_workspace_refusing_the_reporter_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": "not the reporter's service token"})

    async with QueryApiAnalytics(
        QUERY, WORKSPACE, "wrong", transport=httpx.MockTransport(handler)
    ) as analytics:
        with pytest.raises(AnalyticsError) as refused:
            await analytics.business(7)
    assert refused.value.status == 401
    assert "not the reporter's service token" in str(refused.value)


async def test_answers_are_capped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/service/tokens":
            return httpx.Response(200, json=TOKEN_ANSWER)
        return httpx.Response(200, json={**CALENDAR, "name": "x" * 2000})

    async with QueryApiAnalytics(
        QUERY, WORKSPACE, "secret", transport=httpx.MockTransport(handler), max_json_bytes=1000
    ) as analytics:
        with pytest.raises(AnalyticsError, match="more than 1,000 bytes"):
            await analytics.business(7)


def test_an_unset_service_token_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="PULSE_REPORTER_SERVICE_TOKEN"):
        QueryApiAnalytics(QUERY, WORKSPACE, " ")
