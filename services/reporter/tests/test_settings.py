"""The reporter's settings: unset means production, so it refuses to start without its
credentials, and with SMTP in the clear outside dev and tests."""

from __future__ import annotations

import base64
import os
import secrets
from typing import Any

import pytest
from pydantic import ValidationError

from pulse_reporter.settings import Settings


@pytest.fixture(autouse=True)
def unset_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings as a fresh machine gives them: no PULSE_* variable from the shell or CI."""
    for name in [n for n in os.environ if n.startswith("PULSE_")]:
        monkeypatch.delenv(name)


def key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def settings(**over: Any) -> Settings:
    values: dict[str, Any] = {
        "reporter_service_token": "a-service-token",
        "reporter_link_keys": f"{key()}, {key()}",
    }
    return Settings(**{**values, **over})


def test_production_defaults() -> None:
    s = settings()
    assert s.environment == "production"
    assert s.database_url.startswith("postgresql+asyncpg://pulse_reporter:")
    assert s.smtp_tls == "starttls"
    assert (s.reporter_port, s.report_send_hour_local, s.report_lease_s) == (8500, 8, 300)
    assert s.reporter_worker is True
    assert len(s.link_keys()) == 2
    assert s.public_url == "http://127.0.0.1:8080/reporter"
    assert s.message_id_domain == "pulse.local"
    assert ":" in s.reporter_replica  # host:pid


@pytest.mark.parametrize(
    ("over", "named"),
    [
        ({"reporter_service_token": None}, "PULSE_REPORTER_SERVICE_TOKEN"),
        ({"reporter_service_token": "  "}, "PULSE_REPORTER_SERVICE_TOKEN"),
        ({"reporter_link_keys": None}, "PULSE_REPORTER_LINK_KEYS"),
        ({"reporter_link_keys": ""}, "PULSE_REPORTER_LINK_KEYS"),
        ({"reporter_link_keys": "c2hvcnQ"}, "32 bytes"),
        ({"smtp_tls": "none"}, "PULSE_SMTP_TLS"),
        ({"dashboard_url": "pulse.example.com"}, "PULSE_DASHBOARD_URL"),
        ({"report_backoff_base_s": 600, "report_backoff_cap_s": 60}, "BACKOFF_CAP"),
        ({"mail_from": "Pulse"}, "PULSE_MAIL_FROM"),
    ],
    ids=["no-token", "blank-token", "no-keys", "blank-keys", "short-key", "smtp-in-clear",
         "not-a-url", "cap-below-base", "no-domain"],
)  # fmt: skip
def test_unsafe_or_missing_settings_refuse_to_start(over: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        settings(**over)


def test_smtp_in_the_clear_is_for_dev_and_tests_and_urls_lose_their_slash() -> None:
    s = settings(
        environment="test",
        smtp_tls="none",
        dashboard_url="https://pulse.example.com/",
        reporter_public_url="https://reports.example.com/",
    )
    assert s.smtp_tls == "none"
    assert s.public_url == "https://reports.example.com"
    assert s.dashboard_url == "https://pulse.example.com"
