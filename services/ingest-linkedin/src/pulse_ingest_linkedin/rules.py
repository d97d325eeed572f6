"""How LinkedIn says "slow down", "token dead", "version sunset", "not your post" or "no
such post".

LinkedIn publishes no rate-limit headers: its limits are daily (per app, and per member
per app) and reset at midnight UTC, so a 429 waits until then unless ``Retry-After``
says otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
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

THROTTLE_SERVICE_ERROR_CODE = 101


class PostsNotPermitted(PermanentError):
    """403 ACCESS_DENIED naming entries of the ``shares``/``ugcPosts`` list
    (``... processing fields [/shares[0]]``): those posts are not the organisation's (or no
    longer exist). The client drops them and asks again for the rest."""

    def __init__(self, list_name: str, indexes: list[int], detail: str) -> None:
        super().__init__(f"LinkedIn refused {list_name} {indexes}: {detail}")
        self.list_name = list_name
        self.indexes = indexes


class EntityNotFound(PermanentError):
    """404: what the call names does not exist (any more). On ``GET /rest/posts/{urn}``,
    the post was deleted: the client stops polling it."""


_REFUSED_LIST_ENTRY = re.compile(r"/(shares|ugcPosts)\[(\d+)\]")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def seconds_until_next_midnight_utc(now: datetime) -> float:
    midnight = (now.astimezone(UTC) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return (midnight - now).total_seconds()


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _sent_version(response: httpx.Response) -> str | None:
    try:
        version: str | None = response.request.headers.get("LinkedIn-Version")
    except RuntimeError:  # a response built without its request
        return None
    return version


class LinkedInRules:
    """:class:`~pulse_shared.ingest.contracts.PlatformRules` for LinkedIn REST."""

    platform = "linkedin"

    def __init__(self, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self._clock = clock

    def error_of(self, response: httpx.Response) -> ApiError | None:
        status = response.status_code
        if 200 <= status < 300:
            return unreadable_success(response, "LinkedIn")
        body = _error_body(response)
        message = _text(body.get("message"))
        code = _text(body.get("code"))
        detail = f"{code} {message}".strip() or response.reason_phrase
        if status == 429:
            return RateLimited(
                self._wait_after_429(response), scope=self._scope_of(message), detail=detail
            )
        if status == 401:
            return TokenInvalid(f"LinkedIn refused the token (401): {detail}")
        if status == 426 or code == "NONEXISTENT_VERSION":
            version = _sent_version(response) or "sent"
            return PermanentError(
                f"LinkedIn API version {version} no longer exists ({status} "
                f"{code or 'NONEXISTENT_VERSION'}): set the LinkedIn-Version setting to a "
                f"supported YYYYMM month. LinkedIn said: {message or response.reason_phrase}"
            )
        if status == 403 and (refused := _REFUSED_LIST_ENTRY.findall(message)):
            list_names = {name for name, _ in refused}
            if len(list_names) == 1:
                return PostsNotPermitted(
                    list_names.pop(), sorted({int(index) for _, index in refused}), detail
                )
        if status == 404:
            return EntityNotFound(f"LinkedIn answered 404: {detail}")
        if status >= 500:
            return TransientError(f"LinkedIn answered {status}: {detail}")
        return PermanentError(f"LinkedIn answered {status}: {detail}")

    def _wait_after_429(self, response: httpx.Response) -> float:
        now = self._clock()
        explicit = retry_after_seconds(response.headers.get("retry-after"), now)
        if explicit is not None:
            return explicit
        # serviceErrorCode 101 is the daily throttle; any other 429 is read the same way,
        # since every LinkedIn limit is daily.
        return seconds_until_next_midnight_utc(now)

    @staticmethod
    def _scope_of(message: str) -> str:
        # "Resource level throttle APPLICATION DAY limit ..." vs a MEMBER limit.
        return "account" if "MEMBER" in message.upper() else "app"

    def rate_limit_state(self, response: httpx.Response) -> RateLimitState:
        if response.status_code != 429:
            return RateLimitState()
        return RateLimitState(regain_after_s=self._wait_after_429(response))
