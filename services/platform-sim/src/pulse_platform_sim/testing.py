"""Helpers for tests that drive the simulator in process (``httpx.ASGITransport``): a
small population on a fixed anchor, its clock frozen at a known instant, its rate-limit
windows on a wall clock of the test's (frozen too: two calls never fall into two windows
because a window turned between them), and shortcuts into the population. Used by this
package's tests and open to other services' tests."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from fastapi import FastAPI

from pulse_platform_sim.app import create_app
from pulse_platform_sim.oauth import Provider
from pulse_platform_sim.population import Account, Api, Post
from pulse_platform_sim.settings import Settings
from pulse_platform_sim.state import SimState
from pulse_shared.events import Platform
from pulse_shared.testing import ManualClock

ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# Simulated "now" in the tests: a day after the anchor, so every post has some age.
NOW = ANCHOR + timedelta(days=1)
LINKEDIN_VERSION = "202611"


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "seed": 7,
        "businesses": 2,
        "posts_per_account": 20,
        "days": 45,
        "anchor": ANCHOR,
        # A delivery to a test's receiver only times out if it hangs, never because the
        # machine is busy.
        "webhook_timeout_s": 60.0,
    }
    values.update(overrides)
    return Settings(**values)


class Sim:
    """The app, its state and a client, with shortcuts into the population."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def state(self) -> SimState:
        state: SimState = self.app.state.sim
        return state

    @property
    def wall(self) -> ManualClock:
        """The wall clock of the rate-limit windows: at ``NOW`` until a test moves it."""
        wall: ManualClock = self.app.state.wall
        return wall

    def account(self, platform: Platform, business: int = 0) -> Account:
        return self.state.population.businesses[business].accounts[platform]

    def posts(self, platform: Platform, business: int = 0) -> list[Post]:
        return self.state.population.posts_of(self.account(platform, business), NOW)

    def post(self, platform: Platform, where: Callable[[Post], bool] = lambda p: True) -> Post:
        return next(p for p in self.posts(platform) if where(p))

    def token(self, platform: Platform, business: int = 0) -> str:
        return self.account(platform, business).access_token

    def auth(self, platform: Platform, business: int = 0) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(platform, business)}"}

    def provider(self, api: Api) -> Provider:
        """An app's OAuth registration: client id and secret, redirect URIs."""
        return self.state.oauth.providers[api]


async def open_sim(settings: Settings) -> tuple[FastAPI, httpx.AsyncClient]:
    wall = ManualClock(NOW)
    app = create_app(settings, wall_seconds=lambda: wall.now().timestamp())
    app.state.wall = wall
    app.state.sim.clock.freeze()
    app.state.sim.clock.set(NOW)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")
    return app, client


# --- OAuth: the consent form, as a browser would fill it in ------------------------------


def pkce_pair(verifier: str | None = None, method: str = "S256") -> tuple[str, str]:
    """A PKCE (verifier, challenge) pair (RFC 7636)."""
    verifier = verifier or secrets.token_urlsafe(48)
    if method == "plain":
        return verifier, verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class ConsentForm:
    """What the consent page offers: its form's action and fields, the users to pick
    from (and the one preselected) and the scopes it shows."""

    action: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    users: list[str] = field(default_factory=list)
    selected: str | None = None
    scopes: list[str] = field(default_factory=list)


class _ConsentParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form = ConsentForm()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.form.fields[a["name"]] = a.get("value", "")
        elif tag == "option":
            self.form.users.append(a["value"])
            if "selected" in a:
                self.form.selected = a["value"]
        elif tag == "li" and "data-scope" in a:
            self.form.scopes.append(a["data-scope"])


def parse_consent(html: str) -> ConsentForm:
    parser = _ConsentParser()
    parser.feed(html)
    return parser.form


async def consent(
    client: httpx.AsyncClient,
    authorize_url: str,
    params: dict[str, str],
    user: str | None = "sim-user-1",
    decision: str = "allow",
) -> httpx.Response:
    """Open the consent page, sign in as ``user`` and press Allow or Deny: the
    simulator's answer to the form (a 302 to the redirect URI, unless refused)."""
    page = await client.get(authorize_url, params=params)
    assert page.status_code == 200, page.text
    form = parse_consent(page.text)
    fields = dict(form.fields)
    if user is not None:
        fields["user"] = user
    fields["decision"] = decision
    return await client.post(form.action, data=fields)


def redirect_query(response: httpx.Response) -> dict[str, str]:
    """The query parameters of a redirect's Location."""
    assert response.status_code == 302, response.text
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


AUTHORIZE_PATHS: dict[Api, str] = {
    "linkedin": "/oauth/v2/authorization",
    "twitter": "/i/oauth2/authorize",
    "meta": "/v21.0/dialog/oauth",
}
DEFAULT_SCOPES: dict[Api, str] = {
    "linkedin": "r_organization_social rw_organization_admin",
    "twitter": "tweet.read users.read offline.access",
    "meta": "pages_show_list,pages_read_engagement,read_insights,instagram_basic,"
    "instagram_manage_insights",
}


@dataclass(frozen=True)
class Authorized:
    """A code from the consent page, and what its exchange must repeat."""

    code: str
    redirect_uri: str
    code_verifier: str | None = None


async def authorize(
    sim: Sim,
    api: Api,
    user: str = "sim-user-1",
    scope: str | None = None,
    pkce_method: str = "S256",
) -> Authorized:
    """Run the consent page (Allow, signed in as ``user``) and return the code."""
    provider = sim.provider(api)
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": provider.redirect_uris[0],
        "scope": scope if scope is not None else DEFAULT_SCOPES[api],
        "state": secrets.token_urlsafe(12),
    }
    verifier = None
    if api == "twitter":
        verifier, challenge = pkce_pair(method=pkce_method)
        params |= {"code_challenge": challenge, "code_challenge_method": pkce_method}
    answer = await consent(sim.client, AUTHORIZE_PATHS[api], params, user=user)
    query = redirect_query(answer)
    assert query["state"] == params["state"]
    return Authorized(query["code"], params["redirect_uri"], verifier)


def linkedin_headers(token: str) -> dict[str, str]:
    """What every LinkedIn REST call carries: the token, the version, Rest.li 2.0."""
    return {
        "Authorization": f"Bearer {token}",
        "LinkedIn-Version": LINKEDIN_VERSION,
        "X-Restli-Protocol-Version": "2.0.0",
    }


async def linkedin_token(sim: Sim, user: str = "sim-user-1") -> str:
    """A LinkedIn access token of ``user``, through the consent page and the code exchange."""
    code = await authorize(sim, "linkedin", user)
    provider = sim.provider("linkedin")
    response = await sim.client.post(
        "/oauth/v2/accessToken",
        data={
            "grant_type": "authorization_code",
            "code": code.code,
            "redirect_uri": code.redirect_uri,
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token
