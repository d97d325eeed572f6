"""The reporter's delivery tests on the session's servers: a pytest plugin that the test
modules name in ``pytest_plugins``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from conftest import Infra, ServiceProcess, start_service
from pulse_reporter.app import DATABASE_SETTINGS
from pulse_shared.db import asyncpg_dsn
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
