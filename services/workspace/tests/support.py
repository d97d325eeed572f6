"""What the workspace's tests share: the service's settings on the session's servers, people
made members through the operator's routes, a real sign-in at the local Keycloak, and the
invites' mail read back from Mailpit's API. The fixtures are in ``fixtures`` (a plugin the
test modules name in ``pytest_plugins``)."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from pulse_testing.infra import Infra, local_credentials
from pulse_testing.processes import ServiceProcess

APP = "pulse_workspace.app:app"
KEYCLOAK = f"http://127.0.0.1:{os.environ.get('PULSE_KEYCLOAK_PORT', '8300')}"
ISSUER = f"{KEYCLOAK}/realms/pulse"
CLIENT_ID = "pulse-dashboard"
REDIRECT_URI = f"http://127.0.0.1:{os.environ.get('PULSE_DASHBOARD_PORT', '8080')}/auth/callback"
SMTP_PORT = os.environ.get("PULSE_SMTP_PORT", "1025")
MAILPIT = f"http://127.0.0.1:{os.environ.get('PULSE_MAILPIT_PORT', '8025')}"
DASHBOARD = "http://dashboard.test"
PASSWORDS = {
    "demo@pulse.local": "PULSE_KEYCLOAK_DEMO_PASSWORD",
    "colleague@pulse.local": "PULSE_KEYCLOAK_COLLEAGUE_PASSWORD",
}
# Every address this session invites (bar Keycloak's users) is at this domain: its mail is
# deleted from the inbox at the end.
MAIL_DOMAIN = f"ws-{secrets.token_hex(4)}.pulse.test"


def new_business() -> int:
    return secrets.randbelow(2**62) + 10**12


def new_email(name: str = "someone") -> str:
    return f"{name}-{secrets.token_hex(4)}@{MAIL_DOMAIN}"


def seed() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


@dataclass
class Person:
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Workspace:
    """The service process and the operator's key to it."""

    process: ServiceProcess
    operator_token: str = field(repr=False)

    @property
    def url(self) -> str:
        return self.process.url

    def client(self, person: Person | None = None) -> httpx.AsyncClient:
        headers = person.headers if person else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    def operator(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            self.url + path, json=body, timeout=30,
            headers={"Authorization": f"Bearer {self.operator_token}"},
        )  # fmt: skip

    def token_for(self, user_id: str) -> str:
        answer = self.operator("/v1/operator/tokens", {"user_id": user_id, "ttl_s": 600})
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def person(self, user_id: str | None = None) -> Person:
        user_id = user_id or f"user-{secrets.token_hex(4)}"
        return Person(user_id, self.token_for(user_id))

    def member(self, business_id: int, role: str = "owner", email: str | None = None) -> Person:
        """A new person, a member of ``business_id`` with ``role`` (the business made if
        missing)."""
        return self.join(business_id, self.person(), role, email)

    def join(self, business_id: int, person: Person, role: str, email: str | None = None) -> Person:
        body: dict[str, Any] = {"business_id": business_id, "user_id": person.user_id}
        body |= {"role": role, **({"email": email} if email else {})}
        answer = self.operator("/v1/operator/members", body)
        assert answer.status_code == 200, answer.text
        return person


def workspace_env(infra: Infra, operator_token: str, **extra: str) -> dict[str, str]:
    secret = local_credentials()
    return infra.env(**{
        "PULSE_DATABASE_URL": infra.workspace_database_url,
        "PULSE_WORKSPACE_SIGNING_KEYS": seed(),
        "PULSE_WORKSPACE_OPERATOR_TOKEN": operator_token,
        "PULSE_OIDC_ISSUER": ISSUER,
        "PULSE_OIDC_CLIENT_ID": CLIENT_ID,
        "PULSE_SMTP_HOST": "127.0.0.1",
        "PULSE_SMTP_PORT": SMTP_PORT,
        "PULSE_SMTP_USERNAME": "pulse",
        "PULSE_SMTP_PASSWORD": secret["PULSE_MAILPIT_SMTP_PASSWORD"],
        "PULSE_SMTP_TLS": "none",
        "PULSE_MAIL_FROM": "Pulse <no-reply@pulse.local>",
        "PULSE_DASHBOARD_URL": DASHBOARD,
        **extra,
    })  # fmt: skip


StartWorkspace = Callable[..., Workspace]


# --- Mailpit ----------------------------------------------------------------------------


def inbox() -> httpx.Client:
    password = local_credentials()["PULSE_MAILPIT_UI_PASSWORD"]
    return httpx.Client(base_url=MAILPIT, auth=("pulse", password), timeout=10)


def mail_to(address: str) -> list[dict[str, Any]]:
    """Every message to ``address`` in the inbox, newest first, in full. The workspace
    answers an invite only once the mail server took the message."""
    with inbox() as api:
        found = api.get("/api/v1/search", params={"query": f'to:"{address}"'})
        assert found.status_code == 200, found.text
        ids = [m["ID"] for m in found.json()["messages"]]
        return [api.get(f"/api/v1/message/{i}").json() for i in ids]


def delete_mail(messages: list[dict[str, Any]]) -> None:
    with inbox() as api:
        api.request("DELETE", "/api/v1/messages", json={"IDs": [m["ID"] for m in messages]})


class Links(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def invite_secret(message: dict[str, Any]) -> str:
    """The secret of the invite link in a mail's HTML (the same as in its text)."""
    links = [link for link in Links(message["HTML"]).links if link.startswith(DASHBOARD)]
    assert len(links) == 1, links
    assert links[0] in message["Text"]
    url = urlsplit(links[0])
    assert url.path == "/invite"
    return url.fragment


# --- Keycloak ---------------------------------------------------------------------------


class BrowserCookies(CookieJar):
    """Keycloak's Secure cookies sent to http://127.0.0.1, as a browser does."""

    def set_cookie(self, cookie: Cookie) -> None:
        if cookie.domain == "127.0.0.1":
            cookie.secure = False
        super().set_cookie(cookie)


class LoginForm(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.action = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and found.get("id") == "kc-form-login":
            self.action = found.get("action") or ""


def keycloak_id_token(user: str) -> str:
    """``user`` signs in at the local Keycloak (code flow with PKCE, as the dashboard's
    server will): the ID token the dashboard's server gets."""
    discovery = httpx.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "client_id": CLIENT_ID, "response_type": "code", "scope": "openid email profile",
        "redirect_uri": REDIRECT_URI, "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16), "code_challenge_method": "S256",
        "code_challenge": challenge.decode().rstrip("="),
    }  # fmt: skip
    secret = local_credentials()
    with httpx.Client(cookies=BrowserCookies(), timeout=15) as browser:
        page = browser.get(discovery["authorization_endpoint"], params=params)
        action = LoginForm(page.text).action
        assert action, page.text[:300]
        password = secret[PASSWORDS[user]]
        signed_in = browser.post(action, data={"username": user, "password": password})
        assert signed_in.status_code == 302, signed_in.text[:300]
        code = parse_qs(urlsplit(signed_in.headers["location"]).query)["code"][0]
        tokens = browser.post(
            discovery["token_endpoint"],
            data={"grant_type": "authorization_code", "code": code,
                  "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
            auth=(CLIENT_ID, secret["PULSE_KEYCLOAK_DASHBOARD_CLIENT_SECRET"]),
        )  # fmt: skip
        assert tokens.status_code == 200, tokens.text
        id_token: str = tokens.json()["id_token"]
        return id_token
