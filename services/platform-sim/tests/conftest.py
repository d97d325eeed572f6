"""Fixtures: a small simulator on a fixed anchor, frozen at a known instant."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from pulse_platform_sim.testing import Sim, make_settings, open_sim
from pulse_shared.kafka import KafkaConnection


@pytest.fixture
def kafka(request: pytest.FixtureRequest) -> KafkaConnection:
    """The test session's Kafka login (the root conftest's ``infra``, whose module this
    folder's own conftest shadows for imports)."""
    connection: KafkaConnection = request.getfixturevalue("infra").kafka
    return connection


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    app, client = await open_sim(make_settings())
    async with client:
        yield Sim(app, client)


@pytest.fixture
def sim_with() -> Callable[..., Any]:
    """A simulator with some settings changed: ``async with sim_with(x=1) as sim``."""

    @contextlib.asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[Sim]:
        app, client = await open_sim(make_settings(**overrides))
        async with client:
            yield Sim(app, client)

    return factory
