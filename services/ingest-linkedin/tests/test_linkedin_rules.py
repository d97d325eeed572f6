"""LinkedIn statuses and error bodies -> the shared ApiErrors."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from pulse_ingest_linkedin.rules import EntityNotFound, LinkedInRules, PostsNotPermitted
from pulse_shared.ingest.contracts import (
    PermanentError,
    RateLimited,
    TokenInvalid,
    TransientError,
)

NOW = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)
RULES = LinkedInRules(clock=lambda: NOW)

# The throttle answer as LinkedIn sends it (PostHog/posthog#64614).
DAILY_THROTTLE = {
    "status": 429,
    "serviceErrorCode": 101,
    "code": "TOO_MANY_REQUESTS",
    "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is "
    "reached.",
}


def test_a_200_is_usable() -> None:
    assert RULES.error_of(httpx.Response(200, json={"elements": []})) is None


def test_a_200_that_is_not_json_is_transient() -> None:
    assert isinstance(RULES.error_of(httpx.Response(200, text="<html/>")), TransientError)


def test_the_daily_throttle_waits_until_midnight_utc() -> None:
    error = RULES.error_of(httpx.Response(429, json=DAILY_THROTTLE))
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 5.5 * 3600
    assert error.scope == "app"
    assert "TOO_MANY_REQUESTS" in str(error)


def test_retry_after_wins_over_midnight() -> None:
    error = RULES.error_of(httpx.Response(429, headers={"Retry-After": "60"}, json=DAILY_THROTTLE))
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 60


def test_a_member_limit_is_scoped_to_the_account() -> None:
    body = dict(DAILY_THROTTLE, message="Resource level throttle MEMBER DAY limit reached.")
    error = RULES.error_of(httpx.Response(429, json=body))
    assert isinstance(error, RateLimited)
    assert error.scope == "account"


def test_the_rate_limit_state_tells_the_regain_time_of_a_429() -> None:
    assert RULES.rate_limit_state(httpx.Response(429, json=DAILY_THROTTLE)).regain_after_s == (
        5.5 * 3600
    )
    # LinkedIn sends no rate-limit headers: a usable answer says nothing.
    state = RULES.rate_limit_state(httpx.Response(200, json={}))
    assert (state.remaining, state.usage_pct, state.regain_after_s) == (None, None, None)


def test_documented_401_means_the_token_is_dead() -> None:
    body = {"message": "Empty oauth2_access_token", "serviceErrorCode": 401, "status": 401}
    error = RULES.error_of(httpx.Response(401, json=body))
    assert isinstance(error, TokenInvalid)
    assert "Empty oauth2_access_token" in str(error)


def test_a_sunset_version_says_what_to_change() -> None:
    request = httpx.Request(
        "GET", "https://api.linkedin.com/rest/x", headers={"LinkedIn-Version": "202401"}
    )
    response = httpx.Response(
        426,
        json={
            "status": 426,
            "code": "NONEXISTENT_VERSION",
            "message": "Requested version 20240101 is not active",
        },
        request=request,
    )
    error = RULES.error_of(response)
    assert isinstance(error, PermanentError)
    assert "202401" in str(error)
    assert "LinkedIn-Version" in str(error)


def test_a_sunset_version_without_the_request_at_hand() -> None:
    error = RULES.error_of(httpx.Response(426, json={"status": 426, "code": "NONEXISTENT_VERSION"}))
    assert isinstance(error, PermanentError)
    assert "NONEXISTENT_VERSION" in str(error)


def test_403_naming_listed_posts_tells_which() -> None:
    body = {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Unpermitted fields present in PARAMETER: Data Processing Exception while "
        "processing fields [/shares[0]]",
    }
    error = RULES.error_of(httpx.Response(403, json=body))
    assert isinstance(error, PostsNotPermitted)
    assert (error.list_name, error.indexes) == ("shares", [0])


def test_other_403_is_permanent() -> None:
    body = {
        "status": 403,
        "serviceErrorCode": 100,
        "code": "ACCESS_DENIED",
        "message": "Not enough permissions",
    }
    error = RULES.error_of(httpx.Response(403, json=body))
    assert type(error) is PermanentError


def test_404_is_told_apart_from_other_permanent_errors() -> None:
    body = {"status": 404, "serviceErrorCode": 100, "code": "NOT_FOUND", "message": "Not Found"}
    error = RULES.error_of(httpx.Response(404, json=body))
    assert isinstance(error, EntityNotFound)
    assert isinstance(error, PermanentError)  # still never retried
    assert "NOT_FOUND" in str(error)
    assert isinstance(RULES.error_of(httpx.Response(404, text="")), EntityNotFound)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_transient(status: int) -> None:
    assert isinstance(RULES.error_of(httpx.Response(status, text="")), TransientError)


def test_400_is_permanent() -> None:
    body = {"status": 400, "code": "ILLEGAL_ARGUMENT", "message": "Invalid query parameters"}
    assert isinstance(RULES.error_of(httpx.Response(400, json=body)), PermanentError)
