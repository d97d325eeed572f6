"""What the API's tests share: people made members through the session workspace's operator
routes (as `pulse token` makes them), with access tokens the workspace signs (the reporter
checks them against its JWKS, as deployed), a business of their own per test (deleted with
everything of it afterwards), and tiny valid images. The fixtures are in ``fixtures``."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image

from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess
from services.reporter.tests.delivery_support import new_business_id

ROLES = ("owner", "admin", "analyst", "viewer")
# The previews' own limit in the API tests' reporter (fixtures.reporter_api): tests count to it.
PREVIEW_LIMIT = 4


@dataclass(frozen=True)
class Person:
    user_id: str
    token: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def operator(infra: Infra, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=infra.workspace_url, timeout=60) as workspace:
        answer = await workspace.post(
            path, json=body, headers={"Authorization": f"Bearer {infra.operator_token}"}
        )
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    return document


async def access_token(infra: Infra, user_id: str) -> str:
    """An access token the session's workspace signs for ``user_id``."""
    answer = await operator(infra, "/v1/operator/tokens", {"user_id": user_id, "ttl_s": 3600})
    return str(answer["access_token"])


async def member(infra: Infra, business_id: int, role: str) -> Person:
    """A new person, a member of ``business_id`` with ``role`` (the business made if new)."""
    user_id = f"user-{secrets.token_hex(4)}@test"
    await infra.token_for(business_id, user_id, role)
    return Person(user_id, await access_token(infra, user_id))


async def stranger(infra: Infra) -> Person:
    """Someone with a valid token who is a member of nothing."""
    user_id = f"stranger-{secrets.token_hex(4)}@test"
    return Person(user_id, await access_token(infra, user_id))


async def personal_api_token(infra: Infra, business_id: int, person: Person) -> Person:
    """The access token a personal API token of ``person`` is exchanged for (read-only)."""
    async with httpx.AsyncClient(base_url=infra.workspace_url, timeout=60) as workspace:
        made = await workspace.post(
            f"/v1/businesses/{business_id}/tokens", json={"name": "script"}, headers=person.headers
        )
        assert made.status_code == 201, made.text
        exchanged = await workspace.post("/v1/token", json={"api_token": made.json()["token"]})
    assert exchanged.status_code == 200, exchanged.text
    return Person(person.user_id, exchanged.json()["access_token"])


async def service_token(infra: Infra, business_id: int) -> Person:
    """The token the workspace gives the reporter itself (for query-api): no member."""
    async with httpx.AsyncClient(base_url=infra.workspace_url, timeout=60) as workspace:
        answer = await workspace.post(
            "/v1/service/tokens",
            json={"business_id": business_id},
            headers={"Authorization": f"Bearer {infra.reporter_service_token}"},
        )
    assert answer.status_code == 200, answer.text
    return Person("service:reporter", answer.json()["access_token"])


@dataclass(frozen=True)
class Team:
    """A business of its own and one member of each role."""

    business_id: int
    people: dict[str, Person]

    @property
    def owner(self) -> Person:
        return self.people["owner"]

    @property
    def admin(self) -> Person:
        return self.people["admin"]

    @property
    def analyst(self) -> Person:
        return self.people["analyst"]

    @property
    def viewer(self) -> Person:
        return self.people["viewer"]

    def path(self, tail: str, business_id: int | None = None) -> str:
        return f"/v1/businesses/{business_id or self.business_id}{tail}"


async def new_team(infra: Infra) -> Team:
    business_id = new_business_id()
    people = {role: await member(infra, business_id, role) for role in ROLES}
    return Team(business_id, people)


def client(reporter: ServiceProcess, person: Person | None = None) -> httpx.AsyncClient:
    headers = person.headers if person else {}
    return httpx.AsyncClient(base_url=reporter.url, headers=headers, timeout=120)


def image(kind: str = "PNG", size: tuple[int, int] = (64, 32)) -> bytes:
    """A small image of ``kind`` (PNG, JPEG, WEBP)."""
    out = io.BytesIO()
    Image.new("RGB", size, (10, 102, 194)).save(out, format=kind)
    return out.getvalue()


def field_of(answer: httpx.Response) -> list[list[str | int]]:
    """The locations a 422 names."""
    assert answer.status_code == 422, answer.text
    return [list(d["loc"]) for d in answer.json()["detail"]]
