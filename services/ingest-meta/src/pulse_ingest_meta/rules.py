"""How the Graph API says "slow down", "token dead", "metric retired" or "no such post".

Meta puts the reason in the error body's ``code`` (the HTTP status is mostly 400), and
the budget left in the ``X-App-Usage`` / ``X-Business-Use-Case-Usage`` headers as
percentages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from pulse_ingest_meta.api import KNOWN_INSIGHT_METRICS
from pulse_shared.ingest.contracts import (
    ApiError,
    MetricRefused,
    PermanentError,
    RateLimited,
    RateLimitState,
    TokenInvalid,
    TransientError,
    unreadable_success,
)

TOKEN_INVALID_CODE = 190
APP_THROTTLE_CODE = 4
# 17 user, 32 Page, 613 custom, 80001 Page and 80002 Instagram business use case.
ACCOUNT_THROTTLE_CODES = frozenset({17, 32, 613, 80001, 80002})
INVALID_PARAMETER_CODE = 100
# (#100) with subcode 33: "Object with ID ... does not exist, cannot be loaded due to
# missing permissions, or does not support this operation"; (#803) unknown alias.
OBJECT_MISSING_SUBCODE = 33
UNKNOWN_ALIAS_CODE = 803
TRANSIENT_CODES = frozenset({1, 2})


class ObjectMissing(PermanentError):
    """The post or media does not exist (any more) or is not ours to read: stop polling it."""


class MediaTypeMetricRefused(MetricRefused):
    """A metric refused for this kind of media only (Instagram: "... does not support the
    <metric> metric for this media product type"): dropped for this post, not remembered
    as refused for every post."""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _error_of_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return dict(error) if isinstance(error, dict) else {}


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _usage_header(response: httpx.Response, name: str) -> Any:
    value = response.headers.get(name)
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _percentages(usage: object) -> Iterable[float]:
    if not isinstance(usage, dict):
        return
    for key in ("call_count", "total_time", "total_cputime"):
        value = usage.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield float(value)


def _business_use_cases(response: httpx.Response) -> list[dict[str, Any]]:
    """``X-Business-Use-Case-Usage``: {"<business-object-id>": [{type, call_count, ...}]}."""
    usage = _usage_header(response, "x-business-use-case-usage")
    if not isinstance(usage, dict):
        return []
    return [
        entry
        for entries in usage.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]


def regain_after_seconds(response: httpx.Response) -> float | None:
    """The longest ``estimated_time_to_regain_access`` (minutes) in the business use case
    header, in seconds; None when no entry names a wait."""
    minutes = [
        float(entry["estimated_time_to_regain_access"])
        for entry in _business_use_cases(response)
        if isinstance(entry.get("estimated_time_to_regain_access"), int | float)
        and not isinstance(entry.get("estimated_time_to_regain_access"), bool)
    ]
    longest = max(minutes, default=0.0)
    return longest * 60.0 if longest > 0 else None


def _requested_metrics(response: httpx.Response) -> list[str] | None:
    try:
        metric_param = response.request.url.params.get("metric")
    except RuntimeError:  # a response built without its request
        return None
    return [name for name in metric_param.split(",") if name] if metric_param else None


_VALID_VALUES_LIST = re.compile(r"one of the following values:\s*(.+)$", re.IGNORECASE | re.DOTALL)
_METRIC_INDEX = re.compile(r"metric\[(\d+)\]")
# Only phrasings that blame a name: a message also mentions good names ("... Please use
# views instead"), and a good name wrongly blamed would be dropped for the whole process.
_BLAMED_METRIC = (
    re.compile(r"\bthe (\w+) metric\b", re.IGNORECASE),
    re.compile(r"\b(\w+) is not a valid (?:insights )?metric\b", re.IGNORECASE),
    re.compile(r"\binvalid (?:insights )?metric:? '?(\w+)'?", re.IGNORECASE),
)


def refused_metric_names(message: str, requested: Sequence[str] | None) -> list[str]:
    """The metric names an error message blames, [] when it names none.

    - "metric[2] must be one of the following values: a, b, ...": the requested names
      that are not among the valid ones (or the one at index 2);
    - a message blaming a metric ("... does not support the impressions metric ...",
      "x is not a valid metric"): that name, if it was requested (or, without the request
      at hand, if it is a known current or retired name);
    - "(#100) The value must be a valid insights metric": [] (the client must find out).
    """
    valid_list = _VALID_VALUES_LIST.search(message)
    if valid_list and requested:
        valid = {name.strip(" .") for name in valid_list.group(1).split(",")}
        return [name for name in requested if name not in valid]
    index = _METRIC_INDEX.search(message)
    if index and requested and int(index.group(1)) < len(requested):
        return [requested[int(index.group(1))]]
    candidates = set(requested) if requested else KNOWN_INSIGHT_METRICS
    blamed = [match for pattern in _BLAMED_METRIC for match in pattern.findall(message)]
    return [name for name in dict.fromkeys(blamed) if name in candidates]


class MetaRules:
    """:class:`~pulse_shared.ingest.contracts.PlatformRules` for the Graph API.

    ``default_throttle_wait_s``: the wait after a throttle error when no business use case
    header names one (Meta counts app budgets per rolling hour)."""

    platform = "meta"

    def __init__(self, *, default_throttle_wait_s: float = 600.0) -> None:
        self._default_throttle_wait_s = default_throttle_wait_s

    def error_of(self, response: httpx.Response) -> ApiError | None:
        status = response.status_code
        error = _error_of_body(response)
        if 200 <= status < 300 and not error:
            return unreadable_success(response, "Meta")
        code = _int_or_none(error.get("code"))
        subcode = _int_or_none(error.get("error_subcode"))
        message = _text(error.get("message"))
        if error:
            detail = f"(code {code}, subcode {subcode}) {message}".strip()
        else:
            detail = response.reason_phrase

        if code == TOKEN_INVALID_CODE or (status == 401 and code is None):
            return TokenInvalid(f"Meta refused the token: {detail}")
        if code == APP_THROTTLE_CODE or code in ACCOUNT_THROTTLE_CODES or status == 429:
            scope = "account" if code in ACCOUNT_THROTTLE_CODES else "app"
            wait = regain_after_seconds(response) or self._default_throttle_wait_s
            return RateLimited(wait, scope=scope, detail=detail)
        if code in TRANSIENT_CODES or error.get("is_transient") is True:
            return TransientError(f"Meta answered {status}: {detail}")
        if code == INVALID_PARAMETER_CODE and subcode == OBJECT_MISSING_SUBCODE:
            return ObjectMissing(f"Meta: no such object: {detail}")
        if code == UNKNOWN_ALIAS_CODE:
            return ObjectMissing(f"Meta: no such object: {detail}")
        if code == INVALID_PARAMETER_CODE and "metric" in message.lower():
            names = refused_metric_names(message, _requested_metrics(response))
            if "media product type" in message.lower() or "media type" in message.lower():
                return MediaTypeMetricRefused(names, detail)
            return MetricRefused(names, detail)
        if status >= 500:
            return TransientError(f"Meta answered {status}: {detail}")
        return PermanentError(f"Meta answered {status}: {detail}")

    def rate_limit_state(self, response: httpx.Response) -> RateLimitState:
        percentages = list(_percentages(_usage_header(response, "x-app-usage")))
        for entry in _business_use_cases(response):
            percentages.extend(_percentages(entry))
        return RateLimitState(
            usage_pct=max(percentages) if percentages else None,
            regain_after_s=regain_after_seconds(response),
        )
