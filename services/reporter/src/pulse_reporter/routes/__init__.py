"""The reporter's HTTP routes, one module per resource; thin handlers over the domain
modules and store.py's statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError

from pulse_reporter.analytics import AnalyticsError, AnalyticsUnavailable, BusinessNotFound
from pulse_shared.logs import get_logger

log = get_logger(__name__)

# What any member route may answer besides success, for the OpenAPI description.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON"},
    401: {"description": "No valid bearer token"},
    403: {"description": "The caller's role lacks the permission named, or an API token"},
    404: {"description": "No such business among the caller's (or no such schedule, alert)"},
    413: {"description": "The body is too large"},
    422: {"description": "An invalid input; the message names the field"},
    429: {"description": "Too many requests (Retry-After)"},
    503: {"description": "The workspace or the database is unavailable (Retry-After)"},
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    status: ERRORS[status] for status in (401, 404, 422, 429, 503)
}
HEAVY_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    502: {"description": "query-api refused the reporter's request"},
    504: {"description": "The preview took too long"},
}


def invalid(loc: Sequence[str | int], message: str) -> NoReturn:
    """A 422 naming the field at ``loc`` (("query", "period_start"), ...), as FastAPI's own."""
    raise RequestValidationError([{"loc": tuple(loc), "msg": message, "type": "value_error"}])


def analytics_refused(exc: AnalyticsError, business_id: int) -> HTTPException:
    """What a preview answers when query-api (or the workspace's token route) did not."""
    if isinstance(exc, AnalyticsUnavailable):
        return HTTPException(
            503, "the analytics are unavailable right now; try again shortly", {"Retry-After": "10"}
        )
    if isinstance(exc, BusinessNotFound):
        return HTTPException(404, f"business {business_id} not found")
    log.warning("analytics refused a preview", business=business_id, error=str(exc)[:300])
    return HTTPException(502, "the analytics refused the reporter's request")


def too_slow(what: str) -> HTTPException:
    return HTTPException(504, f"the {what} took too long; try again shortly")
