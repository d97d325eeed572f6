"""Connecting an account: the platform simulator and one ingest service, its OAuth app
registered there, and the browser's steps between them."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, free_port, start_service

# The OAuth app each ingest service is registered as at the simulator (its settings' names).
SIM_OAUTH_APP = {
    "twitter": ("PULSE_SIM_TWITTER_CLIENT_ID", "PULSE_SIM_TWITTER_CLIENT_SECRET"),
    "linkedin": ("PULSE_SIM_LINKEDIN_CLIENT_ID", "PULSE_SIM_LINKEDIN_CLIENT_SECRET"),
    "meta": ("PULSE_SIM_META_APP_ID", "PULSE_SIM_META_APP_SECRET"),
}
CONNECT_RETURN_TO = "http://dashboard.test/connections"


@dataclass
class ConnectStack:
    """The simulator and one ingest service, its OAuth app registered there: the path a
    member's browser takes to connect an account."""

    sim: ServiceProcess
    ingest: ServiceProcess
    offset: int  # simulator business i is Pulse business offset + i
    client_id: str
    client_secret: str

    @property
    def callback(self) -> str:
        return f"{self.ingest.url}/connect/callback"

    async def authorize(self, token: str, business: int, **body: object) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.ingest.url) as client:
            return await client.post(
                "/connect/authorize",
                json={"business_id": business, "return_to": CONNECT_RETURN_TO, **body},
                headers={"Authorization": f"Bearer {token}"},
            )


@contextlib.contextmanager
def connect_stack(
    infra: Infra, logs: str, service: str, **ingest_env: str
) -> Iterator[ConnectStack]:
    """A simulator of its own (its businesses offset so no other test shares its accounts)
    and ``ingest-<service>`` with connecting configured against it."""
    offset = secrets.randbelow(2**40) + 10**12
    client_id, client_secret = f"pulse-{service}-client", secrets.token_urlsafe(24)
    ingest_port = free_port()
    callback = f"http://127.0.0.1:{ingest_port}/connect/callback"
    id_name, secret_name = SIM_OAUTH_APP[service]
    sim = start_service(
        "platform-sim", "pulse_platform_sim.app:app",
        infra.env(**{
            "PULSE_SIM_BUSINESS_ID_OFFSET": str(offset), id_name: client_id,
            secret_name: client_secret,
            f"PULSE_SIM_{service.upper()}_REDIRECT_URIS": json.dumps([callback]),
        }),
        logs,
    )  # fmt: skip
    try:
        ingest = start_service(
            f"ingest-{service}", f"pulse_ingest_{service}.app:app",
            infra.env(**{
                "PULSE_API_BASE_URL": sim.url, "PULSE_OAUTH_WEB_BASE_URL": sim.url,
                "PULSE_OAUTH_CLIENT_ID": client_id, "PULSE_OAUTH_CLIENT_SECRET": client_secret,
                "PULSE_OAUTH_REDIRECT_URI": callback,
                "PULSE_OAUTH_RETURN_URLS": json.dumps([CONNECT_RETURN_TO]),
                "PULSE_POLL_IDLE_S": "0.3", **ingest_env,
            }),
            logs, ready_path="/readyz", port=ingest_port,
        )  # fmt: skip
    except BaseException:
        sim.stop()
        raise
    try:
        yield ConnectStack(sim, ingest, offset, client_id, client_secret)
    finally:
        ingest.stop()
        sim.stop()


async def browse_to_pulse(location: str) -> httpx.Response:
    """The browser following the platform's redirect to ingest's callback."""
    async with httpx.AsyncClient() as browser:
        return await browser.get(location)


def connect_outcome(response: httpx.Response) -> dict[str, list[str]]:
    """The outcome in the query of the dashboard page a connect ends on."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(CONNECT_RETURN_TO), location
    return parse_qs(urlsplit(location).query)
