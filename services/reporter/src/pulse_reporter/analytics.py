"""The reporter's analytics: :class:`pulse_reporter.ports.Analytics` over query-api's HTTP API,
as a client with a service credential, so no formula is written twice.

- **Credential**: for each business, a short-lived access token the workspace mints for the
  reporter (``POST /v1/service/tokens``, bearer ``PULSE_REPORTER_SERVICE_TOKEN``): it names
  ``service:reporter`` and that one business, and query-api lets it read and export that
  business only (pulse_shared.http_auth). Each token is kept until ``token_margin_s``
  before it expires, so a report's seven requests (and the next report's) ask the
  workspace once; a 401 from query-api (the workspace's keys rotated) is answered once
  with a fresh token.
- **Retries** (tenacity): connection errors, timeouts, 429 and 5xx are tried again with
  exponential backoff, or after the ``Retry-After`` asked for (capped), ``attempts`` in
  all; then :class:`AnalyticsUnavailable`. Any other answer is final: 404 is
  :class:`BusinessNotFound`, the rest :class:`AnalyticsError` with query-api's detail.
- **Bounded**: every answer is streamed and refused past its cap (``max_json_bytes``, and
  ``max_csv_bytes`` for the export, an email attachment).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, NoReturn, Protocol, TypeVar

import httpx
from pydantic import SecretStr
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from pulse_reporter.anomalies import DayValue, InputMetric, Reconnection, SeriesByPlatformMetric
from pulse_reporter.ports import BusinessInfo
from pulse_reporter.report_data import (
    Period,
    PeriodKind,
    Report,
    build_report,
    query_api_requests,
)
from pulse_shared.ingest.signing import retry_after_seconds
from pulse_shared.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

ANALYTICS = "/api/v1/analytics"
SERVICE_TOKENS = "/v1/service/tokens"
USER_AGENT = "Pulse-Reporter/1 (analytics)"
# query-api answers a period of at most this many days (an alert's day and its 8 weeks,
# or a 90-day preview with them, is far less).
MAX_PERIOD_DAYS = 366
DETAIL_CHARS = 300
ERROR_BYTES = 4096  # of an error answer, read for its detail
# Tokens kept at once; past it the cache starts over (a token is a request away).
MAX_TOKENS_KEPT = 10_000


class AnalyticsError(Exception):
    """query-api or the workspace gave a final answer other than the one asked for."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BusinessNotFound(AnalyticsError):
    """The business does not exist (or the reporter's token is not for it)."""


class AnalyticsUnavailable(AnalyticsError):
    """Every attempt met a connection error, a timeout, a 429 or a 5xx: worth trying again
    later (a delivery's own retry), not a fault of the request."""


class ExportTooLarge(AnalyticsError):
    """The CSV export is larger than the attachment allows."""


class _Transient(Exception):
    """One attempt that is worth repeating, after ``retry_after`` when the server said so."""

    def __init__(self, message: str, status: int | None, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class _Unauthorized(Exception):
    """query-api refused the token itself (401)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_wait_s: float = 0.5  # then doubled per attempt
    max_wait_s: float = 8.0
    retry_after_cap_s: float = 30.0

    def wait(self, state: RetryCallState) -> float:
        """The server's Retry-After (capped), else the exponential backoff."""
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return min(error.retry_after, self.retry_after_cap_s)
        return min(self.first_wait_s * 2.0 ** (state.attempt_number - 1), self.max_wait_s)


class AnalyticsSettings(Protocol):
    """What :meth:`QueryApiAnalytics.from_settings` reads of the reporter's settings."""

    @property
    def query_api_url(self) -> str: ...

    @property
    def workspace_url(self) -> str: ...

    @property
    def reporter_service_token(self) -> SecretStr | None: ...


@dataclass
class _Token:
    value: str
    renew_at: float  # on the client's clock


class QueryApiAnalytics:
    """:class:`pulse_reporter.ports.Analytics` reading query-api with the reporter's tokens.
    One per process (its connection pools and token cache are shared); ``aclose`` it."""

    def __init__(
        self,
        query_api_url: str,
        workspace_url: str,
        service_token: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        token_margin_s: float = 60.0,
        max_json_bytes: int = 16 * 1024 * 1024,
        max_csv_bytes: int = 10 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not service_token.strip():
            raise ValueError("the reporter's service token (PULSE_REPORTER_SERVICE_TOKEN) is unset")
        options: dict[str, Any] = {
            "timeout": httpx.Timeout(timeout_s),
            "headers": {"User-Agent": USER_AGENT},
            "follow_redirects": False,
            "trust_env": False,
            "transport": transport,
        }
        self._query = httpx.AsyncClient(base_url=query_api_url.rstrip("/"), **options)
        self._workspace = httpx.AsyncClient(base_url=workspace_url.rstrip("/"), **options)
        self._service_token = service_token
        self._retry = retry or RetryPolicy()
        self._margin_s = token_margin_s
        self._max_json = max_json_bytes
        self._max_csv = max_csv_bytes
        self._clock = clock
        self._sleep = sleep
        self._tokens: dict[int, _Token] = {}
        self._token_locks: dict[int, asyncio.Lock] = {}

    @classmethod
    def from_settings(cls, settings: AnalyticsSettings, **options: Any) -> QueryApiAnalytics:
        token = settings.reporter_service_token
        return cls(
            settings.query_api_url,
            settings.workspace_url,
            token.get_secret_value() if token is not None else "",
            **options,
        )

    async def aclose(self) -> None:
        await self._query.aclose()
        await self._workspace.aclose()

    async def __aenter__(self) -> QueryApiAnalytics:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # --- the port ---------------------------------------------------------------------

    async def business(self, business_id: int) -> BusinessInfo:
        calendar = await self._json(business_id, f"{ANALYTICS}/calendar", _business(business_id))
        # A business first named by an event has no name until someone gives it one.
        name = calendar.get("name") or f"Business {business_id}"
        return BusinessInfo(business_id, name, calendar["timezone"])

    async def report(self, business_id: int, kind: PeriodKind, period: Period) -> Report:
        requests = query_api_requests(business_id, kind, period)
        asked = (self._json(business_id, path, params) for path, params in requests.values())
        business, answers = await asyncio.gather(self.business(business_id), asyncio.gather(*asked))
        named = dict(zip(requests, answers, strict=True))
        return build_report(kind=kind, business_name=business.name, **named)

    async def export_csv(self, business_id: int, period: Period) -> bytes:
        params = {**_span(business_id, period.start, period.end), "format": "csv"}
        return await self._get(business_id, f"{ANALYTICS}/export", params, self._max_csv)

    async def alert_series(
        self, business_id: int, first_day: date, last_day: date
    ) -> SeriesByPlatformMetric:
        """Each platform with anything in the range, every day of it (query-api's daily
        trends on the activity basis); at most ``MAX_PERIOD_DAYS`` days."""
        days = (last_day - first_day).days + 1
        if not 1 <= days <= MAX_PERIOD_DAYS:
            raise ValueError(f"alert series span 1 to {MAX_PERIOD_DAYS} days, not {days}")
        params = {**_span(business_id, first_day, last_day), "period": "daily", "basis": "activity"}
        answer = await self._json(business_id, f"{ANALYTICS}/trends", params)
        return {
            (platform["platform"], metric): values
            for platform in answer["by_platform"]
            for metric, values in _day_values(platform["trends"]).items()
        }

    async def reconnections(self, business_id: int) -> list[Reconnection]:
        answer = await self._json(business_id, f"{ANALYTICS}/accounts", _business(business_id))
        return [
            Reconnection(
                business_id=business_id,
                platform=account["platform"],
                account_name=account["display_name"] or account["account_id"],
                # When Pulse last read it; the view names no moment of the status change,
                # so an account never read is said to need it since it was connected.
                since=_instant(account["last_synced_at"] or account["connected_at"]),
            )
            for account in answer["accounts"]
            if account["status"] == "needs_reconnection"
        ]

    # --- tokens -----------------------------------------------------------------------

    async def _token(self, business_id: int) -> str:
        """The business's token, asked of the workspace when none is kept or it is due."""
        lock = self._token_locks.setdefault(business_id, asyncio.Lock())
        async with lock:  # one request to the workspace however many ask at once
            kept = self._tokens.get(business_id)
            if kept is not None and self._clock() < kept.renew_at:
                return kept.value
            asked_at = self._clock()
            answer = await self._retrying(lambda: self._new_token(business_id))
            if len(self._tokens) >= MAX_TOKENS_KEPT:
                self._tokens.clear()
                self._token_locks = {business_id: lock}
            renew_at = asked_at + max(float(answer["expires_in"]) - self._margin_s, 0.0)
            self._tokens[business_id] = _Token(answer["access_token"], renew_at)
            return str(answer["access_token"])

    async def _new_token(self, business_id: int) -> dict[str, Any]:
        response = await self._workspace.post(
            SERVICE_TOKENS,
            json={"business_id": business_id},
            headers={"Authorization": f"Bearer {self._service_token}"},
        )
        if response.status_code != 200:
            _refuse("the workspace's service token route", response, _excerpt(response.content))
        answer = _parse_json(response.content, SERVICE_TOKENS)
        if not isinstance(answer.get("access_token"), str) or not isinstance(
            answer.get("expires_in"), int
        ):
            raise AnalyticsError("the workspace answered no access token")
        return answer

    # --- requests to query-api --------------------------------------------------------

    async def _json(self, business_id: int, path: str, params: Mapping[str, str]) -> Any:
        return _parse_json(await self._get(business_id, path, params, self._max_json), path)

    async def _get(
        self, business_id: int, path: str, params: Mapping[str, str], limit: int
    ) -> bytes:
        """The body of a GET of query-api with the business's token, at most ``limit``
        bytes; a refused token is replaced once."""
        token = await self._token(business_id)
        try:
            return await self._retrying(lambda: self._get_once(path, params, token, limit))
        except _Unauthorized:
            self._tokens.pop(business_id, None)
            token = await self._token(business_id)
        try:
            return await self._retrying(lambda: self._get_once(path, params, token, limit))
        except _Unauthorized:
            message = f"query-api refuses the reporter's token for {path}"
            raise AnalyticsError(message, 401) from None

    async def _get_once(
        self, path: str, params: Mapping[str, str], token: str, limit: int
    ) -> bytes:
        headers = {"Authorization": f"Bearer {token}"}
        async with self._query.stream("GET", path, params=params, headers=headers) as response:
            if response.status_code == 401:
                raise _Unauthorized
            if response.status_code != 200:
                body = await _start(response, ERROR_BYTES)
                _refuse(f"query-api's {path}", response, _excerpt(body))
            return await _read(response, limit, path)

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt`` until it gives a final answer, or :class:`AnalyticsUnavailable`."""

        async def once() -> T:
            try:
                return await attempt()
            except httpx.TransportError as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}", None, None) from exc

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts),
            wait=self._retry.wait,
            retry=retry_if_exception_type(_Transient),
            sleep=self._sleep,
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            return await retrying(once)
        except _Transient as exc:
            message = f"analytics unavailable after {self._retry.attempts} attempts: {exc}"
            raise AnalyticsUnavailable(message, exc.status) from exc


# --- helpers ---------------------------------------------------------------------------


def _business(business_id: int) -> dict[str, str]:
    return {"business_id": str(business_id)}


def _span(business_id: int, start: date, end: date) -> dict[str, str]:
    return {**_business(business_id), "start_date": start.isoformat(), "end_date": end.isoformat()}


def _day_values(items: list[Mapping[str, Any]]) -> dict[InputMetric, list[DayValue]]:
    """One platform's daily activity trends as the alerts' input: engagement and
    impressions with the day's ``estimated`` flag (gains made before Pulse first saw a
    post); followers as the day's net change, which no attribution estimates."""
    out: dict[InputMetric, list[DayValue]] = {"engagement": [], "impressions": [], "followers": []}
    for item in items:
        day = date.fromisoformat(item["period_start"])
        estimated = bool(item["estimated"])
        out["engagement"].append(DayValue(day, item["engagement"], estimated))
        out["impressions"].append(DayValue(day, item["impressions"], estimated))
        out["followers"].append(DayValue(day, item["follower_growth"]))
    return out


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


async def _start(response: httpx.Response, size: int) -> bytes:
    """The first ``size`` bytes of an (error) answer: never read whole."""
    data = b""
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= size:
            break
    return data[:size]


async def _read(response: httpx.Response, limit: int, path: str) -> bytes:
    """The (decoded) body, refused past ``limit`` bytes without reading the rest."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            error = ExportTooLarge if path.endswith("/export") else AnalyticsError
            raise error(f"{path} answered more than {limit:,} bytes", response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(body: bytes, path: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise AnalyticsError(f"{path} answered something other than a JSON object")
    return document


def _excerpt(body: bytes) -> str:
    """What an error answer says: FastAPI's ``detail`` (422s as the fields they name)."""
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        detail = body.decode("utf-8", "replace")
    if isinstance(detail, list):
        detail = "; ".join(
            f"{'.'.join(map(str, d.get('loc', ())))}: {d.get('msg', '')}"
            for d in detail
            if isinstance(d, dict)
        )
    return str(detail)[:DETAIL_CHARS]


def _refuse(what: str, response: httpx.Response, detail: str) -> NoReturn:
    """Raises what an answer other than 200 (and other than query-api's 401) means."""
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
        raise _Transient(f"{what} answered {status}: {detail}", status, retry_after)
    message = f"{what} answered {status}: {detail}"
    raise (BusinessNotFound if status == 404 else AnalyticsError)(message, status)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.warning("analytics request retried", attempt=state.attempt_number, error=str(error)[:300])
