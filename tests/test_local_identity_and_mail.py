"""The local servers of the teams and reports issues, as `make test` starts them
(deploy/local/keycloak.sh, mailpit.sh): Keycloak's realm ``pulse`` signs the demo user in
through a real authorization-code flow with PKCE, driven over HTTP as a browser would, and
Mailpit hands back over its API what was sent to it over SMTP."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser
from http.cookiejar import Cookie, CookieJar
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
import pytest

from pulse_testing.infra import local_credentials

pytestmark = pytest.mark.integration

KEYCLOAK = f"http://127.0.0.1:{os.environ.get('PULSE_KEYCLOAK_PORT', '8300')}"
ISSUER = f"{KEYCLOAK}/realms/pulse"
CLIENT_ID = "pulse-dashboard"
REDIRECT_URI = f"http://127.0.0.1:{os.environ.get('PULSE_DASHBOARD_PORT', '8080')}/auth/callback"
SMTP_PORT = int(os.environ.get("PULSE_SMTP_PORT", "1025"))
MAILPIT = f"http://127.0.0.1:{os.environ.get('PULSE_MAILPIT_PORT', '8025')}"
USERS = {
    "demo@pulse.local": "PULSE_KEYCLOAK_DEMO_PASSWORD",
    "colleague@pulse.local": "PULSE_KEYCLOAK_COLLEAGUE_PASSWORD",
}


class BrowserCookies(CookieJar):
    """Keycloak marks its login cookies Secure; a browser sends them to http://127.0.0.1 (a
    secure context), the standard library's cookie jar, which httpx uses, only over HTTPS."""

    def set_cookie(self, cookie: Cookie) -> None:
        if cookie.domain == "127.0.0.1":
            cookie.secure = False
        super().set_cookie(cookie)


class KeycloakPage(HTMLParser):
    """What a user acts on in a page of Keycloak's: its forms' actions by form id, its links,
    and the messages it shows the user (``kc-feedback-text``)."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: dict[str, str] = {}
        self.links: list[str] = []
        self.messages: list[str] = []
        self._in_message = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and found.get("action"):
            self.forms[found.get("id") or ""] = found["action"] or ""
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        if "kc-feedback-text" in (found.get("class") or "").split():
            self._in_message = True
            self.messages.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_message = False

    def handle_data(self, data: str) -> None:
        if self._in_message:
            self.messages[-1] += data.strip()


@pytest.fixture(scope="module")
def discovery() -> dict[str, Any]:
    try:
        answer = httpx.get(f"{ISSUER}/.well-known/openid-configuration", timeout=10)
    except httpx.TransportError as exc:
        pytest.fail(f"Keycloak is not answering on {KEYCLOAK} ({exc}): run `make test`")
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


@pytest.fixture
def browser() -> Iterator[httpx.Client]:
    with httpx.Client(cookies=BrowserCookies(), timeout=15, follow_redirects=False) as client:
        yield client


@dataclass(frozen=True)
class SignIn:
    page: KeycloakPage
    state: str
    nonce: str


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def login_page(browser: httpx.Client, discovery: dict[str, Any], challenge: str) -> SignIn:
    """The dashboard sends the browser to the authorization endpoint, as it will: Keycloak
    answers with its login page."""
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params = {
        "client_id": CLIENT_ID, "response_type": "code", "scope": "openid email profile",
        "redirect_uri": REDIRECT_URI, "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    page = browser.get(discovery["authorization_endpoint"], params=params)
    assert page.status_code == 200, page.text[:500]
    return SignIn(KeycloakPage(page.text), state, nonce)


def sign_in(
    browser: httpx.Client, discovery: dict[str, Any], user: str, password: str, challenge: str
) -> tuple[httpx.Response, SignIn]:
    """The user fills in the login page: Keycloak's answer, and what the request was."""
    started = login_page(browser, discovery, challenge)
    action = started.page.forms.get("kc-form-login")
    assert action, f"no login form on Keycloak's page: {started.page.forms}"
    return browser.post(action, data={"username": user, "password": password}), started


def test_discovery_names_the_realm_its_endpoints_and_pkce(discovery: dict[str, Any]) -> None:
    assert discovery["issuer"] == ISSUER
    endpoints = f"{ISSUER}/protocol/openid-connect"
    assert discovery["authorization_endpoint"] == f"{endpoints}/auth"
    assert discovery["token_endpoint"] == f"{endpoints}/token"
    assert discovery["jwks_uri"] == f"{endpoints}/certs"
    assert discovery["end_session_endpoint"] == f"{endpoints}/logout"
    assert discovery["userinfo_endpoint"] == f"{endpoints}/userinfo"
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert "authorization_code" in discovery["grant_types_supported"]


def forged_signature() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(256)).decode().rstrip("=")


@pytest.mark.parametrize("user", sorted(USERS))
def test_a_user_signs_in_with_a_code_and_pkce_and_gets_a_signed_id_token(
    browser: httpx.Client, discovery: dict[str, Any], user: str
) -> None:
    verifier, challenge = pkce_pair()
    password = local_credentials()[USERS[user]]
    answer, started = sign_in(browser, discovery, user, password, challenge)

    assert answer.status_code == 302, KeycloakPage(answer.text).messages or answer.text[:500]
    location = answer.headers["location"]
    assert location.startswith(f"{REDIRECT_URI}?")
    back = parse_qs(urlsplit(location).query)
    assert back["state"] == [started.state]
    assert back["iss"] == [ISSUER]

    client_secret = local_credentials()["PULSE_KEYCLOAK_DASHBOARD_CLIENT_SECRET"]
    tokens = httpx.post(
        discovery["token_endpoint"],
        data={"grant_type": "authorization_code", "code": back["code"][0],
              "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
        auth=(CLIENT_ID, client_secret),
        timeout=15,
    )  # fmt: skip
    assert tokens.status_code == 200, tokens.text

    id_token = tokens.json()["id_token"]
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(id_token)
    claims = jwt.decode(
        id_token, key.key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER,
        options={"require": ["exp", "iat", "sub", "email"]},
    )  # fmt: skip
    assert claims["email"] == user
    assert claims["email_verified"] is True
    assert claims["nonce"] == started.nonce
    assert claims["azp"] == CLIENT_ID
    # Signed by the realm: the same token with another signature is refused.
    head, body, _ = id_token.split(".")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{head}.{body}.{forged_signature()}", key.key, algorithms=["RS256"],
                   audience=CLIENT_ID, issuer=ISSUER)  # fmt: skip


def test_a_wrong_password_is_refused_on_the_login_page(
    browser: httpx.Client, discovery: dict[str, Any]
) -> None:
    _, challenge = pkce_pair()
    wrong = secrets.token_hex(24)
    answer, _ = sign_in(browser, discovery, "demo@pulse.local", wrong, challenge)
    assert answer.status_code == 200  # the login page again, with its error; no code
    assert "location" not in answer.headers
    page = KeycloakPage(answer.text)
    assert page.messages == ["Invalid username or password."]
    assert "kc-form-login" in page.forms  # the user may try again


def test_a_code_is_worthless_without_its_verifier_or_the_client_secret(
    browser: httpx.Client, discovery: dict[str, Any]
) -> None:
    verifier, challenge = pkce_pair()
    password = local_credentials()[USERS["demo@pulse.local"]]
    answer, _ = sign_in(browser, discovery, "demo@pulse.local", password, challenge)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    secret = local_credentials()["PULSE_KEYCLOAK_DASHBOARD_CLIENT_SECRET"]

    wrong_client = httpx.post(discovery["token_endpoint"], timeout=15,
                              data={**exchange, "code_verifier": verifier},
                              auth=(CLIENT_ID, secrets.token_hex(24)))  # fmt: skip
    assert wrong_client.status_code == 401, wrong_client.text
    no_verifier = httpx.post(discovery["token_endpoint"], data=exchange,
                             auth=(CLIENT_ID, secret), timeout=15)  # fmt: skip
    assert no_verifier.status_code == 400
    assert no_verifier.json()["error"] == "invalid_grant"


def test_an_authorization_request_without_pkce_is_refused(
    browser: httpx.Client, discovery: dict[str, Any]
) -> None:
    params = {"client_id": CLIENT_ID, "response_type": "code", "scope": "openid",
              "redirect_uri": REDIRECT_URI, "state": secrets.token_urlsafe(16)}  # fmt: skip
    answer = browser.get(discovery["authorization_endpoint"], params=params)
    assert answer.status_code == 302
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["error"] == ["invalid_request"]
    assert "code" not in back


# --- Mailpit ------------------------------------------------------------------------------


def inbox() -> httpx.Client:
    password = local_credentials()["PULSE_MAILPIT_UI_PASSWORD"]
    return httpx.Client(base_url=MAILPIT, auth=("pulse", password), timeout=10)


def test_a_message_sent_over_smtp_is_read_back_through_the_inbox_api() -> None:
    subject = f"Your weekly report {secrets.token_hex(6)}"
    message = EmailMessage()
    message["From"] = "Pulse reports <reports@pulse.local>"
    message["To"] = "demo@pulse.local"
    message["Subject"] = subject
    message.set_content("Engagement rose 12% on LinkedIn.")
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=10) as smtp:
        smtp.login("pulse", local_credentials()["PULSE_MAILPIT_SMTP_PASSWORD"])
        smtp.send_message(message)

    with inbox() as api:
        found = []
        for _ in range(50):
            listed = api.get("/api/v1/messages", params={"limit": 200})
            assert listed.status_code == 200, listed.text
            found = [m for m in listed.json()["messages"] if m["Subject"] == subject]
            if found:
                break
            time.sleep(0.1)
        assert len(found) == 1, f"{subject!r} not in Mailpit's inbox"
        assert found[0]["From"]["Address"] == "reports@pulse.local"
        assert [to["Address"] for to in found[0]["To"]] == ["demo@pulse.local"]
        full = api.get(f"/api/v1/message/{found[0]['ID']}")
        assert full.status_code == 200
        assert full.json()["Text"].strip() == "Engagement rose 12% on LinkedIn."
        # The inbox may be `make up`'s: leave it as it was.
        api.request("DELETE", "/api/v1/messages", json={"IDs": [found[0]["ID"]]})


def test_the_inbox_web_page_comes_with_its_script() -> None:
    """The Go module holds the page's sources only: install.sh builds them (npm) into it."""
    with inbox() as api:
        page = api.get("/")
        assert page.status_code == 200
        scripts = re.findall(r'<script[^>]* src="([^"]*/dist/app\.js[^"]*)"', page.text)
        assert scripts, page.text[:500]
        script = api.get(scripts[0])
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
        assert len(script.content) > 100_000


def test_mailpit_takes_mail_and_shows_the_inbox_only_with_their_passwords() -> None:
    assert httpx.get(f"{MAILPIT}/api/v1/messages", timeout=10).status_code == 401
    wrong = httpx.get(f"{MAILPIT}/api/v1/messages", auth=("pulse", "wrong"), timeout=10)
    assert wrong.status_code == 401
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.login("pulse", secrets.token_hex(24))
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPRecipientsRefused)):
            smtp.sendmail("someone@pulse.local", ["demo@pulse.local"], "Subject: x\r\n\r\nx")


def test_keycloak_mails_through_mailpit(browser: httpx.Client, discovery: dict[str, Any]) -> None:
    """The realm sends its mail (invites, resets) to Mailpit as the SMTP user `pulse`: a
    forgotten password's mail arrives in the inbox."""
    with inbox() as api:
        before = {m["ID"] for m in api.get("/api/v1/messages").json()["messages"]}
        started = login_page(browser, discovery, pkce_pair()[1])
        forgot = [link for link in started.page.links if "/reset-credentials" in link]
        assert forgot, "no 'Forgot password?' link on the login page"
        page = KeycloakPage(browser.get(urljoin(KEYCLOAK, forgot[0])).text)
        asked = browser.post(page.forms["kc-reset-password-form"],
                             data={"username": "colleague@pulse.local"})  # fmt: skip
        assert KeycloakPage(asked.text).messages == [
            "You should receive an email shortly with further instructions."
        ]
        arrived: list[dict[str, Any]] = []
        for _ in range(100):
            listed = api.get("/api/v1/messages").json()["messages"]
            arrived = [m for m in listed if m["ID"] not in before
                       and m["To"][0]["Address"] == "colleague@pulse.local"]  # fmt: skip
            if arrived:
                break
            time.sleep(0.1)
        assert [m["Subject"] for m in arrived] == ["Reset password"]
        assert arrived[0]["From"] == {"Name": "Pulse", "Address": "no-reply@pulse.local"}
        api.request("DELETE", "/api/v1/messages", json={"IDs": [arrived[0]["ID"]]})
