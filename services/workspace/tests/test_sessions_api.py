"""Signing in with a real ID token of the local Keycloak, the access tokens and their keys,
who am I; the operational endpoints."""

from __future__ import annotations

import base64
import json
import secrets

import httpx
import jwt
import pytest

from pulse_shared.http_auth import Authenticator
from pulse_shared.settings import PulseSettings
from pulse_testing.processes import assert_operational_endpoints
from services.workspace.tests.support import (
    StartWorkspace,
    Workspace,
    keycloak_id_token,
    new_business,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["services.workspace.tests.fixtures"]


def verifier_of(workspace: Workspace) -> Authenticator:
    """A service checking the workspace's tokens as query-api does: from its JWKS URL."""
    settings = PulseSettings(
        environment="test",
        jwt_jwks_url=f"{workspace.url}/.well-known/jwks.json",
        jwt_issuer="pulse-workspace",
        jwt_audience="pulse-api",
    )
    return Authenticator(settings)


async def test_operational_endpoints(workspace: Workspace) -> None:
    await assert_operational_endpoints(workspace.process, {"database", "redis"})


async def test_the_keys_are_ed25519_named_by_their_thumbprint(workspace: Workspace) -> None:
    async with workspace.client() as client:
        answer = await client.get("/.well-known/jwks.json")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=300"
    (key,) = answer.json()["keys"]
    assert {k: key[k] for k in ("kty", "crv", "alg", "use")} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
    }
    assert len(base64.urlsafe_b64decode(key["x"] + "=")) == 32
    assert "d" not in key  # never the private half


async def test_a_keycloak_id_token_signs_in_and_the_access_token_verifies(
    workspace: Workspace,
) -> None:
    id_token = keycloak_id_token("demo@pulse.local")
    async with workspace.client() as client:
        answer = await client.post("/v1/sessions", json={"id_token": id_token})
        assert answer.status_code == 200, answer.text
        session = answer.json()
        subject = jwt.decode(id_token, options={"verify_signature": False})["sub"]
        assert session["user"] == {
            "user_id": subject,
            "email": "demo@pulse.local",
            "name": session["user"]["name"],
        }
        assert session["token_type"] == "Bearer"
        assert session["expires_in"] == 300
        caller = await verifier_of(workspace).caller_of(session["access_token"])
        assert caller.user == subject
        assert not caller.api_token
        claims = jwt.decode(session["access_token"], options={"verify_signature": False})
        assert claims["iss"] == "pulse-workspace"
        assert claims["aud"] == "pulse-api"
        assert claims["exp"] - claims["iat"] == 300
        assert claims["jti"]
        headers = {"Authorization": f"Bearer {session['access_token']}"}
        me = await client.get("/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == "demo@pulse.local"


def forged(id_token: str) -> list[str]:
    head, body, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    other = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "someone-else"}).encode())
    return [
        f"{head}.{other.decode().rstrip('=')}.{signature}",  # claims changed
        f"{head}.{body}.{base64.urlsafe_b64encode(secrets.token_bytes(256)).decode()}",
        jwt.encode({**claims}, "a-secret-of-nobody-at-all-32-chars!", algorithm="HS256"),
    ]


async def test_a_forged_foreign_or_expired_id_token_is_refused(workspace: Workspace) -> None:
    id_token = keycloak_id_token("demo@pulse.local")
    claims = jwt.decode(id_token, options={"verify_signature": False})
    # The workspace's own access token is no ID token of the provider.
    own = workspace.token_for(claims["sub"])
    async with workspace.client() as client:
        for token in [*forged(id_token), own, "not-a-jwt"]:
            answer = await client.post("/v1/sessions", json={"id_token": token})
            assert answer.status_code == 401, (token[:20], answer.text)
            assert answer.json()["detail"].startswith("invalid ID token")


async def test_me_lists_my_businesses_with_my_role(workspace: Workspace) -> None:
    first, second = new_business(), new_business()
    person = workspace.member(first, "viewer")
    workspace.join(second, person, "admin")
    async with workspace.client(person) as client:
        me = (await client.get("/v1/me")).json()
    assert me["user"] == {"user_id": person.user_id, "email": None, "name": None}
    roles = {b["business_id"]: b["role"] for b in me["businesses"]}
    assert roles == {first: "viewer", second: "admin"}
    assert all(b["timezone"] == "UTC" for b in me["businesses"])


async def test_sessions_without_an_identity_provider_are_unavailable(
    start_workspace: StartWorkspace,
) -> None:
    bare = start_workspace(PULSE_OIDC_ISSUER="", PULSE_OIDC_CLIENT_ID="")
    async with httpx.AsyncClient(base_url=bare.url) as client:
        answer = await client.post("/v1/sessions", json={"id_token": "x.y.z"})
    assert answer.status_code == 503
