"""The authorization step of each platform: the consent page, its checks, Allow and Deny."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from pulse_platform_sim.population import Api
from pulse_platform_sim.testing import Sim, consent, parse_consent, pkce_pair, redirect_query

PATHS: dict[Api, str] = {
    "linkedin": "/oauth/v2/authorization",
    "twitter": "/i/oauth2/authorize",
    "meta": "/v21.0/dialog/oauth",
}
SCOPES: dict[Api, str] = {
    "linkedin": "r_organization_social rw_organization_admin",
    "twitter": "tweet.read users.read offline.access",
    "meta": "pages_show_list,pages_read_engagement,read_insights,instagram_basic",
}


def request_params(sim: Sim, api: Api, **overrides: str | None) -> dict[str, str]:
    provider = sim.provider(api)
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": provider.redirect_uris[0],
        "scope": SCOPES[api],
        "state": "st-123",
    }
    if api == "twitter":
        _, challenge = pkce_pair("v" * 50)
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    params |= overrides
    return {k: v for k, v in params.items() if v is not None}


@pytest.mark.parametrize("api", ["linkedin", "twitter", "meta"])
async def test_the_consent_page_shows_scopes_users_and_both_buttons(sim: Sim, api: Api) -> None:
    page = await sim.client.get(PATHS[api], params=request_params(sim, api))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text
    assert 'id="allow"' in page.text
    assert 'id="deny"' in page.text
    form = parse_consent(page.text)
    assert form.action == PATHS[api]
    assert form.scopes == SCOPES[api].replace(",", " ").split()
    assert form.fields["client_id"] == sim.provider(api).client_id
    assert form.users[:2] == ["sim-user-1", "sim-user-2"]
    # On X a person signs in as an X account: the user without accounts has none.
    assert ("sim-user-none" in form.users) == (api != "twitter")


async def test_login_hint_preselects_the_user(sim: Sim) -> None:
    params = request_params(sim, "linkedin", login_hint="sim-user-2")
    form = parse_consent((await sim.client.get(PATHS["linkedin"], params=params)).text)
    assert form.selected == "sim-user-2"


@pytest.mark.parametrize("api", ["linkedin", "twitter", "meta"])
async def test_allow_redirects_with_a_code_and_the_state(sim: Sim, api: Api) -> None:
    params = request_params(sim, api)
    answer = await consent(sim.client, PATHS[api], params, user="sim-user-1")
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == params["redirect_uri"]
    query = redirect_query(answer)
    assert query["state"] == "st-123"
    assert len(query["code"]) > 20
    assert location.fragment == ("_=_" if api == "meta" else "")


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        (
            "linkedin",
            {
                "error": "user_cancelled_authorize",
                "error_description": "The user cancelled the authorization",
                "state": "st-123",
            },
        ),
        (
            "twitter",
            {
                "error": "access_denied",
                "error_description": "The user denied the request",
                "state": "st-123",
            },
        ),
        (
            "meta",
            {
                "error": "access_denied",
                "error_code": "200",
                "error_description": "Permissions error",
                "error_reason": "user_denied",
                "state": "st-123",
            },
        ),
    ],
)
async def test_deny_sends_the_platforms_error_back(
    sim: Sim, api: Api, expected: dict[str, str]
) -> None:
    answer = await consent(sim.client, PATHS[api], request_params(sim, api), decision="deny")
    assert redirect_query(answer) == expected


@pytest.mark.parametrize("api", ["linkedin", "twitter", "meta"])
async def test_an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(
    sim: Sim, api: Api
) -> None:
    params = request_params(sim, api, redirect_uri="https://evil.example/callback")
    page = await sim.client.get(PATHS[api], params=params)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "does not match the redirect URLs registered" in page.text
    # The form's POST is checked again: a tampered redirect is refused there too.
    good = parse_consent((await sim.client.get(PATHS[api], params=request_params(sim, api))).text)
    tampered = {**good.fields, "redirect_uri": "https://evil.example/cb", "user": "sim-user-1"}
    posted = await sim.client.post(PATHS[api], data={**tampered, "decision": "allow"})
    assert posted.status_code == 400
    assert "location" not in posted.headers


async def test_linkedin_compares_redirect_uris_without_their_query(sim: Sim) -> None:
    registered = sim.provider("linkedin").redirect_uris[0]
    params = request_params(sim, "linkedin", redirect_uri=registered + "?from=settings")
    answer = await consent(sim.client, PATHS["linkedin"], params)
    query = redirect_query(answer)
    assert query["from"] == "settings"
    assert "code" in query


@pytest.mark.parametrize("api", ["linkedin", "twitter", "meta"])
async def test_an_unknown_client_gets_an_error_page(sim: Sim, api: Api) -> None:
    for client_id in ("nope", None):
        page = await sim.client.get(
            PATHS[api], params=request_params(sim, api, client_id=client_id)
        )
        assert page.status_code == 400
        assert "location" not in page.headers


@pytest.mark.parametrize(
    ("api", "missing"),
    [
        ("twitter", "code_challenge"),
        ("twitter", "code_challenge_method"),
        ("twitter", "state"),
        ("twitter", "scope"),
        ("linkedin", "scope"),
        ("linkedin", "response_type"),
        ("meta", "state"),
    ],
)
async def test_a_missing_parameter_goes_back_as_invalid_request(
    sim: Sim, api: Api, missing: str
) -> None:
    answer = await sim.client.get(PATHS[api], params=request_params(sim, api, **{missing: None}))
    query = redirect_query(answer)
    assert query["error"] == "invalid_request"
    assert missing in query["error_description"]


async def test_x_pkce_methods(sim: Sim) -> None:
    plain = request_params(sim, "twitter", code_challenge="p" * 43, code_challenge_method="plain")
    assert (await sim.client.get(PATHS["twitter"], params=plain)).status_code == 200
    other = request_params(sim, "twitter", code_challenge_method="S512")
    assert redirect_query(await sim.client.get(PATHS["twitter"], params=other))["error"] == (
        "invalid_request"
    )
    long_state = request_params(sim, "twitter", state="s" * 501)
    assert redirect_query(await sim.client.get(PATHS["twitter"], params=long_state))["error"] == (
        "invalid_request"
    )


async def test_unknown_scopes(sim: Sim) -> None:
    linkedin = await sim.client.get(
        PATHS["linkedin"], params=request_params(sim, "linkedin", scope="r_made_up")
    )
    assert redirect_query(linkedin)["error"] == "unauthorized_scope_error"
    x = await sim.client.get(
        PATHS["twitter"], params=request_params(sim, "twitter", scope="tweet.read made.up")
    )
    assert redirect_query(x)["error"] == "invalid_scope"
    meta = await sim.client.get(PATHS["meta"], params=request_params(sim, "meta", scope="made_up"))
    assert meta.status_code == 400
    assert "Invalid Scopes: made_up" in meta.text


async def test_an_implicit_grant_is_refused(sim: Sim) -> None:
    answer = await sim.client.get(
        PATHS["linkedin"], params=request_params(sim, "linkedin", response_type="token")
    )
    assert redirect_query(answer)["error"] == "unsupported_response_type"


async def test_allow_without_a_user_shows_the_form_again(sim: Sim) -> None:
    answer = await consent(sim.client, PATHS["linkedin"], request_params(sim, "linkedin"), None)
    assert answer.status_code == 400
    assert 'id="error"' in answer.text
    assert parse_consent(answer.text).fields["client_id"] == sim.provider("linkedin").client_id
