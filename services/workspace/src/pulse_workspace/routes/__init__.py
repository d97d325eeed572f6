"""The workspace's HTTP routes, one module per resource; thin handlers over
pulse_workspace's domain modules."""

from __future__ import annotations

from typing import Any

# What any member route may answer besides success, for the OpenAPI description.
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON"},
    401: {"description": "No valid bearer token"},
    403: {"description": "The caller's role lacks the permission named, or an API token"},
    404: {"description": "No such business among the caller's (or no such member, invite, token)"},
    413: {"description": "The body is too large"},
    422: {"description": "An invalid input; the message names the field"},
    429: {"description": "Too many requests (Retry-After)"},
}
