"""Roles in query-api (pulse_shared.roles): every member reads; exports and refreshes are
for analysts and up; a personal API token reads and exports its one business only."""

from __future__ import annotations

import random

import httpx
import pytest

from pulse_shared.auth import mint_dev_token
from pulse_shared.http_auth import TOKEN_BUSINESS_CLAIM, TOKEN_ID_CLAIM
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

READS = (
    "/api/v1/analytics/overview?business_id={b}",
    "/api/v1/analytics/calendar?business_id={b}",
    "/api/v1/analytics/top-posts?business_id={b}",
)
EXPORT = "/api/v1/analytics/export?business_id={b}"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def a_business() -> int:
    return random.Random().randint(10_000_000, 2**62)


async def test_each_role_reads_and_only_analysts_and_up_export_and_refresh(
    infra: Infra, query_api: ServiceProcess
) -> None:
    business = a_business()
    async with httpx.AsyncClient(base_url=query_api.url, timeout=60) as client:
        for role, writes in (
            ("viewer", False),
            ("analyst", True),
            ("admin", True),
            ("owner", True),
        ):
            _, token = await infra.token_for(business, role=role)
            for path in READS:
                answer = await client.get(path.format(b=business), headers=auth(token))
                assert answer.status_code == 200, (role, path, answer.text)
            export = await client.get(EXPORT.format(b=business), headers=auth(token))
            refresh = await client.post(
                "/api/v1/analytics/refresh",
                json={"business_id": business, "platforms": ["linkedin"]},
                headers=auth(token),
            )
            if writes:
                assert export.status_code == 200, (role, export.text)
                assert refresh.status_code == 202, (role, refresh.text)
            else:
                assert export.status_code == 403
                assert (
                    export.json()["detail"]
                    == f"the role viewer may not export in business {business}"
                )
                assert refresh.status_code == 403
                assert "may not refresh" in refresh.json()["detail"]


async def test_an_api_token_reads_and_exports_its_business_only_and_never_refreshes(
    infra: Infra, query_api: ServiceProcess
) -> None:
    mine, other = a_business(), a_business()
    user, _ = await infra.token_for(mine, role="owner")
    await infra.token_for(other, user=user, role="owner")
    token = mint_dev_token(
        infra.jwt_secret, user, ttl_s=300, extra={TOKEN_BUSINESS_CLAIM: mine, TOKEN_ID_CLAIM: 7}
    )
    async with httpx.AsyncClient(base_url=query_api.url, timeout=60) as client:
        for path in (*READS, EXPORT):
            assert (await client.get(path.format(b=mine), headers=auth(token))).status_code == 200
            # Its user is an owner of the other business too; the token is not for it.
            elsewhere = await client.get(path.format(b=other), headers=auth(token))
            assert elsewhere.status_code == 404, path
            assert elsewhere.json()["detail"] == f"business {other} not found"
        refresh = await client.post(
            "/api/v1/analytics/refresh",
            json={"business_id": mine, "platforms": ["linkedin"]},
            headers=auth(token),
        )
        assert refresh.status_code == 403
        assert refresh.json()["detail"] == (
            f"a read-only API token may not refresh in business {mine}"
        )


@pytest.mark.parametrize(
    "claims",
    [
        {TOKEN_BUSINESS_CLAIM: "1", TOKEN_ID_CLAIM: 7},
        {TOKEN_BUSINESS_CLAIM: 1, TOKEN_ID_CLAIM: "7"},
        {TOKEN_BUSINESS_CLAIM: 1},
        {TOKEN_BUSINESS_CLAIM: True, TOKEN_ID_CLAIM: 7},
    ],
)
async def test_malformed_api_token_claims_are_refused(
    infra: Infra, query_api: ServiceProcess, claims: dict[str, object]
) -> None:
    token = mint_dev_token(infra.jwt_secret, "someone@test", ttl_s=300, extra=claims)
    async with httpx.AsyncClient(base_url=query_api.url, timeout=60) as client:
        answer = await client.get(READS[0].format(b=1), headers=auth(token))
    assert answer.status_code == 401
    assert answer.json()["detail"] == "invalid token: malformed API token claims"
