"""The reporter's tests on the session's servers (deliveries, the API): a pytest plugin that
the test modules name in ``pytest_plugins``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from pulse_reporter.app import DATABASE_SETTINGS
from pulse_shared.db import asyncpg_dsn
from pulse_shared.permissions import DATABASE_ROLES, REPORTER_ROLE
from pulse_testing.infra import Infra, local_credentials
from pulse_testing.processes import ServiceProcess, start_service
from services.reporter.tests.api_support import PREVIEW_LIMIT, Team, new_team
from services.reporter.tests.delivery_support import (
    DASHBOARD,
    LINK_KEYS,
    SMTP_PORT,
    add_business,
    delete_session_mail,
)


@pytest.fixture(scope="session")
def session_mail() -> Iterator[None]:
    """The session's mail is deleted from the inbox at its end."""
    yield
    delete_session_mail()


@pytest.fixture
async def pool(infra: Infra) -> AsyncIterator[asyncpg.Pool]:
    """A replica's pool on the session's database."""
    made = await asyncpg.create_pool(
        asyncpg_dsn(infra.database_url), min_size=0, max_size=4, server_settings=DATABASE_SETTINGS
    )
    try:
        yield made
    finally:
        await made.close()


@pytest.fixture
async def business(db: asyncpg.Connection, session_mail: None) -> AsyncIterator[int]:
    """A business of its own ("Acme Bakery", New York), deleted afterwards with everything
    of it (schedules, deliveries, unsubscribes, bounces), so no other test's worker sees
    its schedules."""
    business_id = await add_business(db)
    try:
        yield business_id
    finally:
        await db.execute("DELETE FROM businesses WHERE id = $1", business_id)


@pytest.fixture(scope="session")
def reporter(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """The reporter as a real process, its worker off (the API alone)."""
    env = infra.env(
        PULSE_REPORTER_SERVICE_TOKEN="not-used-without-the-worker",
        PULSE_REPORTER_LINK_KEYS=LINK_KEYS,
        PULSE_REPORTER_WORKER="false",
        PULSE_DASHBOARD_URL=DASHBOARD,
        PULSE_SMTP_HOST="127.0.0.1",
        PULSE_SMTP_PORT=str(SMTP_PORT),
        PULSE_SMTP_TLS="none",
    )
    logs = str(tmp_path_factory.mktemp("logs"))
    service = start_service("reporter", "pulse_reporter.app:app", env, logs, ready_path="/readyz")
    try:
        yield service
    finally:
        service.stop()


def reporter_database_url(infra: Infra) -> str:
    """The session's database as the reporter's own role (pulse_shared.permissions), as
    deployed: its tables and businesses, nothing of the teams or the analytics."""
    role = DATABASE_ROLES[REPORTER_ROLE]
    user = os.environ.get(role.password_var.replace("_PASSWORD", "_USER"), REPORTER_ROLE)
    password = local_credentials()[role.password_var]
    url = make_url(infra.database_url).set(username=user, password=password)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def reporter_api(
    infra: Infra, service_query_api: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """The reporter as deployed for its API: its own database role, members' tokens checked
    against the session workspace's keys and their roles asked of it, analytics read from
    query-api with the reporter's service token; its worker off (nothing is sent)."""
    env = infra.env(
        PULSE_DATABASE_URL=reporter_database_url(infra),
        PULSE_JWT_JWKS_URL=f"{infra.workspace_url}/.well-known/jwks.json",
        PULSE_JWT_ISSUER="pulse-workspace",
        PULSE_WORKSPACE_URL=infra.workspace_url,
        PULSE_QUERY_API_URL=service_query_api.url,
        PULSE_REPORTER_SERVICE_TOKEN=infra.reporter_service_token,
        PULSE_REPORTER_LINK_KEYS=LINK_KEYS,
        PULSE_REPORTER_WORKER="false",
        PULSE_DASHBOARD_URL=DASHBOARD,
        PULSE_SMTP_HOST="127.0.0.1",
        PULSE_SMTP_PORT=str(SMTP_PORT),
        PULSE_SMTP_TLS="none",
        PULSE_RATE_LIMIT_PREVIEW=f"{PREVIEW_LIMIT}/86400",
        PULSE_RATE_LIMIT_SEND_NOW="1000/60",
    )
    logs = str(tmp_path_factory.mktemp("logs"))
    service = start_service("reporter", "pulse_reporter.app:app", env, logs, ready_path="/readyz")
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
async def team(infra: Infra, db: asyncpg.Connection) -> AsyncIterator[Team]:
    """A business of its own with one member of each role; deleted afterwards with all of
    it (schedules, deliveries, branding, alerts), so no worker of another test sees it."""
    made = await new_team(infra)
    try:
        yield made
    finally:
        await db.execute("DELETE FROM businesses WHERE id = $1", made.business_id)


@pytest.fixture
async def other_team(infra: Infra, db: asyncpg.Connection) -> AsyncIterator[Team]:
    """Another business, for tenancy: its ids must be as absent as ids that do not exist."""
    made = await new_team(infra)
    try:
        yield made
    finally:
        await db.execute("DELETE FROM businesses WHERE id = $1", made.business_id)
