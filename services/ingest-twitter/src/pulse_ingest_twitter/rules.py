"""How the X API says "slow down", "token dead" or "bad request".

X's 429 bodies differ between the docs (``{"errors":[{"code":88,...}]}``), live answers
and X's emulator (``{"title":"Too Many Requests",...}``), so the decision keys on the
status and the ``x-rate-limit-*`` headers, never on the body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from pulse_shared.ingest.contracts import (
    ApiError,
    PermanentError,
    RateLimited,
    RateLimitState,
    TokenInvalid,
    TransientError,
    unreadable_success,
)
from pulse_shared.ingest.signing import retry_after_seconds


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _problem_text(response: httpx.Response) -> str:
    """A short description from either body shape (problem JSON or ``errors[]``)."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason_phrase
    if not isinstance(body, dict):
        return response.reason_phrase
    parts = [str(body[key]) for key in ("title", "detail") if isinstance(body.get(key), str)]
    problem_type = body.get("type")
    if isinstance(problem_type, str) and problem_type != "about:blank":
        parts.append(problem_type.rsplit("/", 1)[-1])
    errors = body.get("errors")
    if isinstance(errors, list):
        for error in errors[:3]:
            if isinstance(error, dict):
                message = error.get("message") or error.get("detail")
                if isinstance(message, str):
                    parts.append(message)
    return "; ".join(parts) or response.reason_phrase


class TwitterRules:
    """:class:`~pulse_shared.ingest.contracts.PlatformRules` for the X API v2.

    ``rate_limit_scope``: "app" when the service polls with an app-only Bearer token (X
    counts per app), "account" with user-context tokens (X counts per user).
    ``default_retry_after_s``: the wait after a 429 that names no reset time (X's
    windows are 15 minutes long)."""

    platform = "twitter"

    def __init__(
        self,
        *,
        rate_limit_scope: str = "app",
        default_retry_after_s: float = 900.0,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        if rate_limit_scope not in ("app", "account"):
            raise ValueError(f"rate_limit_scope must be 'app' or 'account': {rate_limit_scope!r}")
        self._scope = rate_limit_scope
        self._default_retry_after_s = default_retry_after_s
        self._clock = clock

    def error_of(self, response: httpx.Response) -> ApiError | None:
        status = response.status_code
        if 200 <= status < 300:
            # A 200 with data + errors[] is a partial answer and usable: the parser
            # sorts the missing ids out.
            return unreadable_success(response, "X")
        detail = _problem_text(response)
        if status == 429:
            return RateLimited(self._wait_after_429(response), scope=self._scope, detail=detail)
        if status == 401:
            return TokenInvalid(f"X refused the token (401): {detail}")
        if status >= 500:
            return TransientError(f"X answered {status}: {detail}")
        return PermanentError(f"X answered {status}: {detail}")

    def _wait_after_429(self, response: httpx.Response) -> float:
        now = self._clock()
        explicit = retry_after_seconds(response.headers.get("retry-after"), now)
        if explicit is not None:
            return explicit
        reset_epoch = _int_header(response, "x-rate-limit-reset")
        if reset_epoch is not None:
            # At least a second, so a clock a little ahead of X's never spins.
            return max(1.0, reset_epoch - now.timestamp())
        return self._default_retry_after_s

    def rate_limit_state(self, response: httpx.Response) -> RateLimitState:
        reset_epoch = _int_header(response, "x-rate-limit-reset")
        reset_at = None
        if reset_epoch is not None:
            try:
                reset_at = datetime.fromtimestamp(reset_epoch, UTC)
            except (OverflowError, OSError, ValueError):
                reset_at = None
        return RateLimitState(
            remaining=_int_header(response, "x-rate-limit-remaining"),
            limit=_int_header(response, "x-rate-limit-limit"),
            reset_at=reset_at,
        )
