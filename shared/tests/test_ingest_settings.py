"""The ingest services' settings: keys required outside dev, lists from the environment."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from pulse_shared.ingest.settings import DEV_TOKEN_KEY, IngestSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "TOKEN_ENCRYPTION_KEYS", "RATE_LIMIT_BUDGETS", "API_BASE_URL"):
        monkeypatch.delenv(f"PULSE_{name}", raising=False)


def test_outside_dev_no_keys_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="PULSE_TOKEN_ENCRYPTION_KEYS"):
        IngestSettings()


def test_dev_without_keys_uses_the_known_dev_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ENVIRONMENT", "dev")
    settings = IngestSettings()
    assert settings.token_keys() == [DEV_TOKEN_KEY]
    Fernet(DEV_TOKEN_KEY.encode())  # a valid key


@pytest.mark.parametrize("separator", [",", ", "])
def test_keys_come_comma_separated_or_as_json_newest_first(
    monkeypatch: pytest.MonkeyPatch, separator: str
) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("PULSE_ENVIRONMENT", "production")
    monkeypatch.setenv("PULSE_TOKEN_ENCRYPTION_KEYS", f"{new}{separator}{old}")
    assert IngestSettings().token_keys() == [new, old]
    monkeypatch.setenv("PULSE_TOKEN_ENCRYPTION_KEYS", f'["{new}", "{old}"]')
    settings = IngestSettings()
    assert settings.token_keys() == [new, old]
    assert new not in repr(settings)  # secrets stay out of reprs


def test_base_url_and_rate_limit_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_ENVIRONMENT", "dev")
    assert IngestSettings().api_base_url_of("twitter") == "https://api.x.com"
    assert IngestSettings().api_base_url_of("instagram") == "https://graph.facebook.com"
    assert IngestSettings().api_base_url_of("meta") == "https://graph.facebook.com"
    monkeypatch.setenv("PULSE_API_BASE_URL", "http://127.0.0.1:8200/x")
    monkeypatch.setenv(
        "PULSE_RATE_LIMIT_BUDGETS",
        '[{"scope": "app", "endpoint": "*", "limit": 50000, "window_s": 86400, "window": "fixed"}]',
    )
    settings = IngestSettings()
    assert settings.api_base_url_of("twitter") == "http://127.0.0.1:8200/x"
    [budget] = settings.rate_limit_budgets
    assert (budget.scope, budget.limit, budget.window) == ("app", 50000, "fixed")
