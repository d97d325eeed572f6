"""Who a caller is in a business, asked of the workspace (the teams' one owner): the
reporter's database role reads no teams' table (pulse_shared.permissions).

The workspace's ``GET /v1/me`` is asked with the caller's own bearer token: it answers the
caller's businesses and role in each (for a personal API token, its one business only), so
the workspace checks the token too, and the reporter needs no credential of its own for
it. Asked on every request, never remembered: a member removed or demoted is refused at
once, as everywhere else in Pulse. The client's address goes along in X-Forwarded-For, so a
workspace that trusts the reporter as a proxy limits each client on its own rather than
all of the reporter's callers as one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

ME = "/v1/me"
USER_AGENT = "Pulse-Reporter/1 (members)"
# /v1/me lists every business of the caller: a generous bound on its answer.
MAX_ANSWER_BYTES = 1024 * 1024


class TokenRefused(Exception):
    """The workspace refused the caller's token (401)."""


class MembersUnavailable(Exception):
    """The workspace did not answer (a connection error, a timeout, a 429 or 5xx, or an
    answer that is not /v1/me's)."""


@dataclass(frozen=True)
class Roles:
    """The caller's role in each of its businesses, by business id."""

    by_business: dict[int, str]

    def role_in(self, business_id: int) -> str | None:
        return self.by_business.get(business_id)


class WorkspaceMembers:
    """One per process (its connection pool is shared); ``aclose`` it."""

    def __init__(
        self,
        workspace_url: str,
        *,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=workspace_url.rstrip("/"),
            timeout=httpx.Timeout(timeout_s),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
            trust_env=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def roles(self, token: str, client_address: str | None = None) -> Roles:
        """The caller's roles, as the workspace answers them for ``token``."""
        headers = {"Authorization": f"Bearer {token}"}
        if client_address:
            headers["X-Forwarded-For"] = client_address
        try:
            async with self._client.stream("GET", ME, headers=headers) as response:
                if response.status_code == 401:
                    raise TokenRefused
                if response.status_code != 200:
                    raise MembersUnavailable(f"the workspace answered {response.status_code}")
                body = await _read(response)
        except httpx.HTTPError as exc:
            raise MembersUnavailable(f"the workspace is unreachable: {type(exc).__name__}") from exc
        return _roles(body)


async def _read(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise MembersUnavailable(f"the workspace answered more than {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _roles(body: bytes) -> Roles:
    try:
        businesses = json.loads(body)["businesses"]
        return Roles({int(b["business_id"]): str(b["role"]) for b in businesses})
    except (ValueError, KeyError, TypeError) as exc:
        raise MembersUnavailable("the workspace's answer is not /v1/me's") from exc
