"""X status codes and rate-limit headers -> the shared ApiErrors and RateLimitState."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from pulse_ingest_twitter.rules import TwitterRules
from pulse_shared.ingest.contracts import (
    PermanentError,
    RateLimited,
    TokenInvalid,
    TransientError,
)
from pulse_shared.ingest.signing import retry_after_seconds

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def rules(rate_limit_scope: str = "app", default_retry_after_s: float = 900.0) -> TwitterRules:
    return TwitterRules(
        rate_limit_scope=rate_limit_scope,
        default_retry_after_s=default_retry_after_s,
        clock=lambda: NOW,
    )


def test_a_partial_200_is_usable() -> None:
    response = httpx.Response(
        200,
        json={
            "data": [{"id": "123", "text": "Hi"}],
            "errors": [
                {
                    "resource_id": "456",
                    "title": "Not Found Error",
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
            ],
        },
    )
    assert rules().error_of(response) is None


def test_a_200_that_is_not_json_is_transient() -> None:
    response = httpx.Response(200, text="<html>gateway</html>")
    assert isinstance(rules().error_of(response), TransientError)


def test_429_waits_until_the_documented_reset_header() -> None:
    reset = int(NOW.timestamp()) + 300
    response = httpx.Response(
        429,
        headers={
            "x-rate-limit-limit": "900",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        },
        json={"errors": [{"code": 88, "message": "Rate limit exceeded"}]},
    )
    error = rules().error_of(response)
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 300
    assert error.scope == "app"


def test_429_problem_body_of_live_answers_and_the_emulator() -> None:
    response = httpx.Response(
        429,
        headers={"retry-after": "42"},
        json={
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
    )
    error = rules(rate_limit_scope="account").error_of(response)
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 42
    assert error.scope == "account"


def test_retry_after_wins_over_the_reset_header() -> None:
    response = httpx.Response(
        429,
        headers={"retry-after": "5", "x-rate-limit-reset": str(int(NOW.timestamp()) + 600)},
    )
    error = rules().error_of(response)
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 5


def test_429_without_headers_waits_the_default() -> None:
    error = rules(default_retry_after_s=120.0).error_of(httpx.Response(429))
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 120


def test_a_reset_in_the_past_still_waits_a_second() -> None:
    response = httpx.Response(429, headers={"x-rate-limit-reset": str(int(NOW.timestamp()) - 5)})
    error = rules().error_of(response)
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 1


def test_spent_usage_cap_is_a_rate_limit() -> None:
    response = httpx.Response(
        429,
        json={
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Monthly product cap",
            "type": "https://api.x.com/2/problems/usage-capped",
        },
    )
    error = rules().error_of(response)
    assert isinstance(error, RateLimited)
    assert "usage-capped" in str(error)


def test_401_means_the_token_is_dead() -> None:
    response = httpx.Response(
        401,
        json={
            "title": "Unauthorized",
            "type": "about:blank",
            "status": 401,
            "detail": "Unauthorized",
        },
    )
    assert isinstance(rules().error_of(response), TokenInvalid)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(status: int) -> None:
    assert isinstance(rules().error_of(httpx.Response(status)), TransientError)


@pytest.mark.parametrize("status", [400, 403, 404])
def test_other_4xx_is_permanent(status: int) -> None:
    response = httpx.Response(
        status,
        json={
            "errors": [
                {
                    "parameters": {"ids": ["x"]},
                    "message": "The `ids` query parameter value [x] is not valid",
                }
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )
    error = rules().error_of(response)
    assert isinstance(error, PermanentError)
    assert "Invalid Request" in str(error)


def test_rate_limit_headers_become_the_budget_state() -> None:
    response = httpx.Response(
        200,
        headers={
            "x-rate-limit-limit": "900",
            "x-rate-limit-remaining": "897",
            "x-rate-limit-reset": "1790000000",
        },
        json={"data": []},
    )
    state = rules().rate_limit_state(response)
    assert state.limit == 900
    assert state.remaining == 897
    assert state.reset_at == datetime.fromtimestamp(1790000000, UTC)
    assert state.usage_pct is None


def test_absent_or_garbled_headers_say_nothing() -> None:
    state = rules().rate_limit_state(
        httpx.Response(200, headers={"x-rate-limit-remaining": "many"}, json={})
    )
    assert (state.remaining, state.limit, state.reset_at) == (None, None, None)


def test_retry_after_as_an_http_date() -> None:
    assert retry_after_seconds("Wed, 25 Nov 2026 12:01:00 GMT", NOW) == 60
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_an_unknown_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="rate_limit_scope"):
        TwitterRules(rate_limit_scope="user")
