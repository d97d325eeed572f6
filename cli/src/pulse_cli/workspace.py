"""The workspace service's operator routes: how the ``pulse`` command makes members and
mints access tokens (the workspace is the only writer of members and Pulse's token issuer).

Settings: ``PULSE_WORKSPACE_URL`` and ``PULSE_WORKSPACE_OPERATOR_TOKEN`` (deploy/local's
``pulse.sh`` sets both from the generated credentials).
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from pulse_cli.connections import CommandFailed


class WorkspaceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PULSE_")

    workspace_url: str = "http://127.0.0.1:8400"
    workspace_operator_token: SecretStr | None = None


def _detail(answer: httpx.Response) -> str:
    """What a refusal says: its ``detail``, a validation error as ``field: message``."""
    try:
        detail = answer.json().get("detail", answer.text)
    except ValueError:
        return answer.text[:300]
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(part) for part in error.get('loc', [])[1:])}: {error.get('msg')}"
            for error in detail
            if isinstance(error, dict)
        )
    return str(detail)


class Workspace:
    """Calls the operator routes; every refusal becomes a :class:`CommandFailed` naming it."""

    def __init__(self, settings: WorkspaceSettings | None = None) -> None:
        settings = settings or WorkspaceSettings()
        if settings.workspace_operator_token is None:
            raise CommandFailed(
                "PULSE_WORKSPACE_OPERATOR_TOKEN is not set: run the command through "
                "deploy/local/pulse.sh, or set it to the workspace's operator token"
            )
        self._url = settings.workspace_url.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {settings.workspace_operator_token.get_secret_value()}"
        }

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(base_url=self._url, timeout=30) as client:
                answer = await client.post(path, json=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise CommandFailed(
                f"cannot reach the workspace at {self._url} ({type(exc).__name__}); "
                "is `make up` running?"
            ) from exc
        if answer.status_code >= 400:
            raise CommandFailed(f"the workspace refused ({answer.status_code}): {_detail(answer)}")
        found: dict[str, Any] = answer.json()
        return found

    async def add_member(
        self, business_id: int, user_id: str, role: str | None, email: str | None = None
    ) -> dict[str, Any]:
        """``user_id`` a member of the business with ``role`` (the business created when
        missing, as an event would; no role: a member keeps its own, a new one is owner)."""
        body: dict[str, Any] = {"business_id": business_id, "user_id": user_id, "role": role}
        if email is not None:
            body["email"] = email
        return await self._post("/v1/operator/members", body)

    async def access_token(self, user_id: str, ttl_s: int) -> str:
        answer = await self._post("/v1/operator/tokens", {"user_id": user_id, "ttl_s": ttl_s})
        token: str = answer["access_token"]
        return token

    async def add_owner(self, business_id: int, email: str) -> dict[str, Any]:
        """The person with ``email`` an owner of the business: at once when they have
        signed in before, otherwise through an invite mailed to them."""
        return await self._post("/v1/operator/owners", {"business_id": business_id, "email": email})
