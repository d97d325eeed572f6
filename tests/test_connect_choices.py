"""Connecting through ingest's routes where a consent brings several accounts, or none:
Meta's Page with its Instagram account offered on a choice page whose form may go back to
the dashboard, and a LinkedIn member who administers no organisation, whose grant is
given back at once. The simulator and each ingest service are real processes."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from pulse_cli.demo import consent, form_of, post_form
from pulse_testing.connect import ConnectStack, browse_to_pulse, connect_outcome, connect_stack
from pulse_testing.infra import Infra

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def meta(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectStack]:
    with connect_stack(infra, str(tmp_path_factory.mktemp("connect-meta")), "meta") as stack:
        yield stack


@pytest.fixture(scope="module")
def linkedin(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConnectStack]:
    logs = str(tmp_path_factory.mktemp("connect-linkedin"))
    with connect_stack(infra, logs, "linkedin") as stack:
        yield stack


async def test_a_page_and_its_instagram_are_chosen_on_a_page_that_may_go_back(
    meta: ConnectStack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = meta.offset + 1
    _, token = await infra.token_for(business)
    url = (await meta.authorize(token, business)).json()["authorization_url"]
    async with httpx.AsyncClient() as browser:
        choice = await browser.get(await consent(browser, url, "sim-user-1"))
        assert choice.status_code == 200, choice.text
        # The form posts here, then is redirected to the dashboard: a browser applies
        # form-action to both, so both origins are allowed, and nothing else.
        policy = choice.headers["content-security-policy"]
        assert "form-action 'self' http://dashboard.test;" in policy
        assert "default-src 'none'" in policy
        target, fields = form_of(str(choice.url), choice.text)
        assert target == f"{meta.ingest.url}/connect/choose"
        offered = sorted(value.split(":")[0] for name, value in fields if name == "account")
        assert offered == ["facebook", "instagram"]
        done = await post_form(browser, target, fields)
    assert connect_outcome(done) == {"connected": ["facebook,instagram"], "accounts": ["2"]}
    rows = await db.fetch(
        "SELECT platform, status FROM connected_accounts WHERE business_id = $1 ORDER BY 1",
        business,
    )
    assert [r["platform"] for r in rows] == ["facebook", "instagram"]
    assert {r["status"] for r in rows} <= {"syncing", "active"}  # active once synced


async def test_a_member_who_administers_nothing_is_told_and_the_grant_given_back(
    linkedin: ConnectStack, infra: Infra, db: asyncpg.Connection
) -> None:
    business = linkedin.offset + 1
    _, token = await infra.token_for(business)
    url = (await linkedin.authorize(token, business)).json()["authorization_url"]
    async with httpx.AsyncClient() as browser:
        back = await browse_to_pulse(await consent(browser, url, "sim-user-none"))
        grants = await browser.get(
            f"{linkedin.sim.url}/_sim/oauth/grants", params={"user": "sim-user-none"}
        )
    assert connect_outcome(back) == {"connect_error": ["no_accounts"]}
    assert (
        await db.fetchval(
            "SELECT count(*) FROM connected_accounts WHERE business_id = $1", business
        )
        == 0
    )
    (grant,) = grants.json()["grants"]
    assert [t["status"] for t in grant["tokens"]] == ["revoked"]
