"""query-api's settings: a fixed clock is for tests and demos, never production."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from pulse_query_api.scope import fixed_clock, local_today
from pulse_query_api.settings import Settings


def test_a_fixed_clock_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_CLOCK_AT", "2026-11-19T23:30:00Z")
    monkeypatch.setenv("PULSE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="PULSE_CLOCK_AT"):
        Settings()
    monkeypatch.setenv("PULSE_ENVIRONMENT", "dev")
    assert Settings().clock_at == datetime(2026, 11, 19, 23, 30, tzinfo=UTC)


def test_a_clock_without_a_time_zone_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSE_CLOCK_AT", "2026-11-19T23:30:00")
    with pytest.raises(ValidationError, match="clock_at"):
        Settings()


def test_today_is_the_business_local_day() -> None:
    now = fixed_clock(datetime(2026, 11, 19, 23, 30, tzinfo=UTC))()
    assert local_today(now, "Europe/Berlin") == date(2026, 11, 20)
    assert local_today(now, "UTC") == date(2026, 11, 19)
    assert local_today(now, "America/New_York") == date(2026, 11, 19)
    assert local_today(now, "Pacific/Kiritimati") == date(2026, 11, 20)
