"""Keycloak chores for deploy/local/keycloak.sh, through Keycloak's admin REST API as the
bootstrap admin (the API that kcadm.sh drives, here without a JVM per call or a password on
a command line):

    keycloak_admin.py render TEMPLATE OUT   write the realm file Keycloak imports at start,
                                            this machine's dashboard URL and SMTP port in it
    keycloak_admin.py apply --url URL FILE  make the running realm match FILE and this
                                            machine's secrets: the realm's settings and its
                                            SMTP password, each client's settings and secret,
                                            each user (created if missing), its realm roles
                                            and password

The import creates the realm once; ``apply`` runs at every start, so a changed secret, port
or setting of the file takes effect without losing the realm's users and sessions. Secrets
come from the environment only: PULSE_KEYCLOAK_ADMIN_PASSWORD, the client ``pulse-<name>``'s
PULSE_KEYCLOAK_<NAME>_CLIENT_SECRET, the user ``<name>@...``'s PULSE_KEYCLOAK_<NAME>_PASSWORD
and PULSE_MAILPIT_SMTP_PASSWORD; none is written to a file or printed. Standard library only,
like credentials.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import string
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ADMIN_USER = "admin"
ADMIN_PASSWORD_VAR = "PULSE_KEYCLOAK_ADMIN_PASSWORD"  # noqa: S105 - a variable's name
SMTP_PASSWORD_VAR = "PULSE_MAILPIT_SMTP_PASSWORD"  # noqa: S105 - a variable's name
TIMEOUT_S = 30

Json = dict[str, Any]


class AdminError(Exception):
    """A step Keycloak refused; the message names it, never a secret."""


def secret(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise AdminError(f"{name} is not set (deploy/local/keycloak.sh sets it)")
    return value


def client_secret_var(client_id: str) -> str:
    return f"PULSE_KEYCLOAK_{_word(client_id.removeprefix('pulse-'))}_CLIENT_SECRET"


def user_password_var(username: str) -> str:
    return f"PULSE_KEYCLOAK_{_word(username.split('@')[0])}_PASSWORD"


def _word(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper())


class Admin:
    """The admin REST API of one realm, as the bootstrap admin."""

    def __init__(self, base_url: str, realm: str) -> None:
        self.base = base_url.rstrip("/")
        self.realm = realm
        self.token = self._login()

    def _login(self) -> str:
        form = urllib.parse.urlencode(
            {
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": ADMIN_USER,
                "password": secret(ADMIN_PASSWORD_VAR),
            }
        ).encode()
        url = f"{self.base}/realms/master/protocol/openid-connect/token"
        try:
            with urllib.request.urlopen(url, data=form, timeout=TIMEOUT_S) as answer:  # noqa: S310
                token: str = json.load(answer)["access_token"]
        except urllib.error.HTTPError as exc:
            raise AdminError(
                f"Keycloak refuses its admin user with {ADMIN_PASSWORD_VAR} (HTTP {exc.code}): "
                "its database was made with another password"
            ) from None
        return token

    def call(self, method: str, path: str, body: object = None) -> Any:
        url = f"{self.base}/admin/realms/{self.realm}{path}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:  # noqa: S310
                text = answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise AdminError(f"{method} {path}: HTTP {exc.code} {detail}") from None
        return json.loads(text) if text else None

    def find_one(self, path: str, **query: str) -> Json | None:
        found: list[Json] = self.call("GET", f"{path}?{urllib.parse.urlencode(query)}")
        return found[0] if found else None


def apply_settings(admin: Admin, realm: Json) -> None:
    """The realm's own settings (what is not a list of clients, users, ...), with the SMTP
    password that Mailpit's `pulse` sender logs in with."""
    settings = {key: value for key, value in realm.items() if not isinstance(value, list)}
    if "smtpServer" in settings:
        settings["smtpServer"] = {**settings["smtpServer"], "password": secret(SMTP_PASSWORD_VAR)}
    admin.call("PUT", "", settings)


LOOPBACK_ANY_PORT = re.compile(r"^http://127\.0\.0\.1:\d+(/.*)$")


def with_loopback_any_port(client: Json) -> Json:
    """``client`` with each redirect on ``http://127.0.0.1:<port>`` also registered without
    its port, which Keycloak matches for any port of the loopback address (RFC 8252 7.3):
    tests run a dashboard server of their own on a free port. Nothing else can listen there
    but this machine's processes, and a code is worthless without the secret and the PKCE
    verifier; a realm that is not this local one keeps its exact URIs."""
    redirects = list(client.get("redirectUris", []))
    redirects += [f"http://127.0.0.1{m[1]}" for r in redirects if (m := LOOPBACK_ANY_PORT.match(r))]
    attributes = dict(client.get("attributes", {}))
    logout = [u for u in attributes.get("post.logout.redirect.uris", "").split("##") if u]
    logout += [f"http://127.0.0.1{m[1]}" for u in logout if (m := LOOPBACK_ANY_PORT.match(u))]
    if logout:
        attributes["post.logout.redirect.uris"] = "##".join(dict.fromkeys(logout))
    return {**client, "redirectUris": list(dict.fromkeys(redirects)), "attributes": attributes}


def apply_client(admin: Admin, client: Json) -> None:
    client = with_loopback_any_port(client)
    found = admin.find_one("/clients", clientId=client["clientId"])
    if found is None:
        admin.call("POST", "/clients", client)
        found = admin.find_one("/clients", clientId=client["clientId"])
        assert found is not None
    wanted = {**client, "id": found["id"]}
    if not client.get("publicClient", False):
        wanted["secret"] = secret(client_secret_var(client["clientId"]))
    admin.call("PUT", f"/clients/{found['id']}", wanted)


def apply_user(admin: Admin, user: Json) -> None:
    found = admin.find_one("/users", username=user["username"], exact="true")
    if found is None:
        admin.call("POST", "/users", user)
        found = admin.find_one("/users", username=user["username"], exact="true")
        assert found is not None
    admin.call("PUT", f"/users/{found['id']}", user)
    # Realm roles are granted through their own endpoint (granting one twice is no error).
    roles = [admin.call("GET", f"/roles/{name}") for name in user.get("realmRoles", [])]
    if roles:
        admin.call("POST", f"/users/{found['id']}/role-mappings/realm", roles)
    password = secret(user_password_var(user["username"]))
    credential = {"type": "password", "value": password, "temporary": False}
    admin.call("PUT", f"/users/{found['id']}/reset-password", credential)


def apply(base_url: str, realm_file: Path) -> str:
    realm: Json = json.loads(realm_file.read_text(encoding="utf-8"))
    admin = Admin(base_url, realm["realm"])
    apply_settings(admin, realm)
    for client in realm.get("clients", []):
        apply_client(admin, client)
    for user in realm.get("users", []):
        apply_user(admin, user)
    return (
        f"realm {realm['realm']}: settings, {len(realm.get('clients', []))} client(s), "
        f"{len(realm.get('users', []))} user(s) applied"
    )


def user_id(base_url: str, realm: str, username: str) -> str:
    """The realm's subject (``sub``) of ``username``: who the user is to Pulse."""
    found = Admin(base_url, realm).find_one("/users", username=username, exact="true")
    if found is None:
        raise AdminError(f"no user {username!r} in realm {realm}")
    return str(found["id"])


def render(template: Path, out: Path, dashboard_url: str, smtp_port: str) -> None:
    """The realm file with this machine's values; an unknown ``${NAME}`` is an error."""
    text = string.Template(template.read_text(encoding="utf-8")).substitute(
        DASHBOARD_URL=dashboard_url, SMTP_PORT=smtp_port
    )
    json.loads(text)
    out.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    render_args = commands.add_parser("render")
    render_args.add_argument("template", type=Path)
    render_args.add_argument("out", type=Path)
    render_args.add_argument("--dashboard-url", required=True)
    render_args.add_argument("--smtp-port", required=True)
    apply_args = commands.add_parser("apply")
    apply_args.add_argument("realm_file", type=Path)
    apply_args.add_argument("--url", required=True)
    user_args = commands.add_parser("user-id")
    user_args.add_argument("username")
    user_args.add_argument("--url", required=True)
    user_args.add_argument("--realm", default="pulse")
    args = parser.parse_args(argv)
    try:
        if args.command == "user-id":
            print(user_id(args.url, args.realm, args.username))
        elif args.command == "render":
            render(args.template, args.out, args.dashboard_url, args.smtp_port)
        else:
            print(f"[pulse] Keycloak {apply(args.url, args.realm_file)}", file=sys.stderr)
    except (AdminError, urllib.error.URLError, OSError) as exc:
        print(f"[pulse] Keycloak: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
