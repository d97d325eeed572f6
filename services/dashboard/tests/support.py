"""What the dashboard server's tests share: the server started with rate limits of the
test's choosing, counted under Redis keys of its own."""

from __future__ import annotations

import secrets

import pytest

from pulse_testing.processes import ServiceProcess, start_dashboard_server

# Limits that never fire: most tests call from 127.0.0.1, many sign-ins a minute.
NEVER = "1000000/60"


def dashboard_server(
    tmp_path_factory: pytest.TempPathFactory,
    env: dict[str, str],
    *,
    address: str = NEVER,
    sign_in: str = NEVER,
    auth_failures: str = NEVER,
    assets: dict[str, bytes] | None = None,
) -> ServiceProcess:
    """:func:`pulse_testing.processes.start_dashboard_server` with these rate limits
    (PULSE_RATE_LIMIT_*), and a PULSE_TOPIC_PREFIX of its own unless ``env`` names one, so
    that no other server's requests count towards its limits (they are kept in the tests'
    Redis database)."""
    return start_dashboard_server(
        tmp_path_factory,
        {
            "PULSE_RATE_LIMIT_ADDRESS": address,
            "PULSE_RATE_LIMIT_SIGN_IN": sign_in,
            "PULSE_RATE_LIMIT_AUTH_FAILURES": auth_failures,
            "PULSE_TOPIC_PREFIX": f"test-{secrets.token_hex(6)}.",
            **env,
        },
        assets,
    )
