"""Every route of the API against bad callers: no bearer or a bad one (401), someone who is
no member, or whose API token is for another business, or the reporter's own service token
(404, as a business that does not exist), a personal API token (reads, manages nothing), a
member removed or promoted (at once), a body too large (413), too many previews (429); and
the OpenAPI document says what each route is and shows each body by example."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pulse_shared.auth import mint_dev_token
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess
from services.reporter.tests.api_support import (
    PREVIEW_LIMIT,
    Team,
    client,
    personal_api_token,
    service_token,
    stranger,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["services.reporter.tests.fixtures"]

# Every member route: method, path under the business ({i}: an id), a valid body.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/reports/schedules", None),
    ("POST", "/reports/schedules", {"kind": "weekly", "recipients": ["a@example.com"]}),
    ("PATCH", "/reports/schedules/{i}", {"paused": True}),
    ("DELETE", "/reports/schedules/{i}", None),
    ("POST", "/reports/schedules/{i}/send-now", {}),
    ("GET", "/reports/schedules/{i}/preview.pdf", None),
    ("GET", "/reports/deliveries", None),
    ("GET", "/reports/branding", None),
    ("PUT", "/reports/branding", {"colour": "#000000"}),
    ("GET", "/reports/branding/logo", None),
    ("PUT", "/reports/branding/logo", None),
    ("DELETE", "/reports/branding/logo", None),
    ("GET", "/alerts", None),
    ("POST", "/alerts/{i}/read", None),
    ("POST", "/alerts/read-all", None),
    ("GET", "/alerts/settings", None),
    ("PUT", "/alerts/settings", {"sensitivity": "low"}),
    ("GET", "/alerts/preview", None),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _ in ROUTES]


async def call(
    api: httpx.AsyncClient, team: Team, route: tuple[str, str, Any], business_id: int | None = None
) -> httpx.Response:
    method, template, body = route
    return await api.request(method, team.path(template.format(i=1), business_id), json=body)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
async def test_no_or_a_bad_token_is_unauthorized(
    reporter_api: ServiceProcess, infra: Infra, team: Team, route: tuple[str, str, Any]
) -> None:
    # The session's development secret signs tokens query-api's tests use; the reporter,
    # as deployed, takes only the workspace's.
    forged = mint_dev_token(infra.jwt_secret, team.owner.user_id)
    for headers in (
        {},
        {"Authorization": "Bearer nonsense"},
        {"Authorization": f"Bearer {forged}"},
    ):
        async with httpx.AsyncClient(base_url=reporter_api.url, headers=headers) as api:
            answer = await call(api, team, route)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
async def test_a_stranger_finds_no_business(
    reporter_api: ServiceProcess, infra: Infra, team: Team, route: tuple[str, str, Any]
) -> None:
    nobody = await stranger(infra)
    async with client(reporter_api, nobody) as api:
        answer = await call(api, team, route)
    assert answer.status_code == 404, answer.text
    assert answer.json()["detail"] == f"business {team.business_id} not found"


async def test_a_personal_api_token_reads_its_business_and_manages_nothing(
    reporter_api: ServiceProcess, infra: Infra, team: Team, other_team: Team
) -> None:
    token = await personal_api_token(infra, team.business_id, team.owner)
    async with client(reporter_api, token) as api:
        for tail in ("/reports/schedules", "/reports/deliveries", "/alerts", "/alerts/settings"):
            assert (await api.get(team.path(tail))).status_code == 200, tail
        made = await api.post(
            team.path("/reports/schedules"), json={"kind": "weekly", "recipients": ["a@b.co"]}
        )
        assert made.status_code == 403
        assert (
            made.json()["detail"]
            == "a read-only API token may not do this: it needs manage_reports"
        )
        assert (
            await api.put(team.path("/alerts/settings"), json={"sensitivity": "low"})
        ).status_code == 403
        # The owner is a member of the other business too: the token is not.
        elsewhere = await api.get(team.path("/reports/schedules", other_team.business_id))
        assert elsewhere.status_code == 404


async def test_the_reporters_own_service_token_is_no_member(
    reporter_api: ServiceProcess, infra: Infra, team: Team
) -> None:
    service = await service_token(infra, team.business_id)
    async with client(reporter_api, service) as api:
        for route in ROUTES:
            answer = await call(api, team, route)
            assert answer.status_code == 404, (route, answer.text)


async def test_a_removal_or_a_promotion_counts_at_once(
    reporter_api: ServiceProcess, infra: Infra, team: Team
) -> None:
    schedules = team.path("/reports/schedules")
    body = {"kind": "monthly", "recipients": ["a@example.com"]}
    async with client(reporter_api, team.viewer) as api:
        assert (await api.post(schedules, json=body)).status_code == 403
    async with httpx.AsyncClient(base_url=infra.workspace_url, headers=team.owner.headers) as ws:
        member = f"/v1/businesses/{team.business_id}/members"
        promoted = await ws.patch(f"{member}/{team.viewer.user_id}", json={"role": "admin"})
        assert promoted.status_code == 200, promoted.text
        async with client(reporter_api, team.viewer) as api:
            assert (await api.post(schedules, json=body)).status_code == 201
        removed = await ws.delete(f"{member}/{team.viewer.user_id}")
        assert removed.status_code == 204, removed.text
    async with client(reporter_api, team.viewer) as api:
        assert (await api.get(schedules)).status_code == 404


async def test_a_body_too_large_is_refused(reporter_api: ServiceProcess, team: Team) -> None:
    recipients = [f"someone-{i}-{'x' * 300}@example.com" for i in range(120)]
    async with client(reporter_api, team.owner) as api:
        answer = await api.post(
            team.path("/reports/schedules"), json={"kind": "weekly", "recipients": recipients}
        )
        assert answer.status_code == 413
        assert (await api.get(team.path("/reports/schedules"))).json() == []


async def test_previews_are_rate_limited_per_person(
    reporter_api: ServiceProcess, team: Team
) -> None:
    """Counted before anything else is looked at: previews of a schedule that does not exist
    use the allowance as rendered ones do. (A window that ends during the test starts the
    count again: twice the allowance and one is always enough to meet the limit.)"""
    refused = None
    async with client(reporter_api, team.viewer) as api:
        for _ in range(2 * PREVIEW_LIMIT + 1):
            answer = await api.get(team.path("/reports/schedules/1/preview.pdf"))
            if answer.status_code == 429:
                refused = answer
                break
            assert answer.status_code == 404, answer.text
        assert refused is not None
        assert int(refused.headers["retry-after"]) >= 1
        assert '"preview"' in refused.headers["ratelimit-policy"]
        assert "rate limit 'preview' reached" in refused.json()["detail"]
        assert (await api.get(team.path("/alerts/preview"))).status_code == 429
        assert (await api.get(team.path("/reports/schedules"))).status_code == 200
    async with client(reporter_api, team.analyst) as api:  # another person's allowance
        answer = await api.get(team.path("/reports/schedules/1/preview.pdf"))
        assert answer.status_code == 404


async def test_the_openapi_document_names_and_shows_every_route(
    reporter_api: ServiceProcess,
) -> None:
    async with httpx.AsyncClient(base_url=reporter_api.url) as api:
        document = (await api.get("/openapi.json")).json()
    prefix = "/v1/businesses/{business_id}"
    operations = {
        (method.upper(), path[len(prefix) :]): operation
        for path, methods in document["paths"].items()
        if path.startswith(prefix)
        for method, operation in methods.items()
    }
    assert {
        (m, p.replace("{schedule_id}", "{i}").replace("{alert_id}", "{i}")) for m, p in operations
    } == {(m, p) for m, p, _ in ROUTES}
    for (method, path), operation in operations.items():
        assert operation.get("summary"), (method, path)
        assert {"401", "404"} <= set(operation["responses"]), (method, path)
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            schema = content["application/json"]["schema"]
            assert schema.get("examples"), (method, path)
