"""The workspace as real processes on the session's servers: a pytest plugin that the test
modules name in ``pytest_plugins``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess, start_service
from services.workspace.tests.support import (
    APP,
    MAIL_DOMAIN,
    StartWorkspace,
    Workspace,
    inbox,
    workspace_env,
)


@pytest.fixture(scope="session")
def start_workspace(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StartWorkspace]:
    """Starts workspace processes with the given settings over the defaults; each stopped
    at the end of the session."""
    started: list[ServiceProcess] = []

    def start(**extra: str) -> Workspace:
        operator_token = extra.pop("operator_token", secrets.token_hex(32))
        env = workspace_env(infra, operator_token, **extra)
        logs = str(tmp_path_factory.mktemp("logs"))
        process = start_service("workspace", APP, env, logs, ready_path="/readyz")
        started.append(process)
        return Workspace(process, operator_token)

    yield start
    for process in started:
        process.stop()
    with inbox() as api:  # the inbox may be `make up`'s: leave only its own mail
        api.delete("/api/v1/search", params={"query": f"to:{MAIL_DOMAIN}"})


@pytest.fixture(scope="session")
def workspace(start_workspace: StartWorkspace) -> Workspace:
    """The session's workspace, rate limits that never fire."""
    return start_workspace()
