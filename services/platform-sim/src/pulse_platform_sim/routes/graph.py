"""What every Meta Graph API route shares: the error shape, authentication, usage
accounting (``X-App-Usage``, ``X-Business-Use-Case-Usage``) and who may read what.

Tokens: a Page token (the population's standing Facebook and Instagram tokens, or one
from ``/me/accounts``) reads its business's Page, the linked Instagram account and their
posts. A user token (Facebook Login) reads the user's own node, their Pages' nodes and
their Instagram accounts and media; Page posts and Page edges need a Page token.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from fastapi import Request

from pulse_platform_sim.errors import PlatformError, attach_headers
from pulse_platform_sim.faults import Fault
from pulse_platform_sim.population import Account, Post
from pulse_platform_sim.ratelimits import BucType
from pulse_platform_sim.routes.gate import apply_fault, bearer_token, identify, label
from pulse_platform_sim.state import SimState, sim_of
from pulse_platform_sim.tokens import Principal, TokenStatus

THROTTLES: dict[int, tuple[int, str]] = {
    # code: (HTTP status, message)
    4: (403, "(#4) Application request limit reached"),
    17: (400, "(#17) User request limit reached"),
    32: (403, "(#32) Page request limit reached"),
    613: (400, "(#613) Calls to this api have exceeded the rate limit."),
    80001: (
        400,
        "(#80001) There have been too many calls to this Page account. Wait a bit and try "
        "again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    ),
    80002: (
        400,
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and "
        "try again. For more info, please refer to "
        "https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
    ),
}
THROTTLE_CODE_OF: dict[str, int] = {"app": 4, "pages": 80001, "instagram": 80002}


def graph_error(
    status: int, message: str, code: int, type_: str = "OAuthException", **extra: Any
) -> PlatformError:
    body: dict[str, Any] = {"message": message, "type": type_, "code": code}
    body |= extra
    body["fbtrace_id"] = "A" + secrets.token_urlsafe(16)[:22]
    return PlatformError(status, {"error": body})


def server_error(status: int) -> PlatformError:
    return graph_error(
        status,
        "An unexpected error has occurred. Please retry your request later.",
        2,
        is_transient=True,
    )


def throttle(code: int) -> PlatformError:
    status, message = THROTTLES[code]
    return graph_error(status, message, code, is_transient=True)


def invalid_metric() -> PlatformError:
    return graph_error(400, "(#100) The value must be a valid insights metric", 100)


def no_such_object(object_id: str) -> PlatformError:
    return graph_error(
        400,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        "GraphMethodException",
        error_subcode=33,
    )


def unknown_field(name: str, node_type: str) -> PlatformError:
    return graph_error(
        400, f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100
    )


def token_error(sim: SimState, token: str | None, status: TokenStatus | None) -> PlatformError:
    """The answer to a missing (None), unknown (status None), expired or revoked token."""
    if not token:
        return graph_error(400, "An access token is required to request this resource.", 104)
    if status is None:
        return graph_error(400, "Invalid OAuth access token - Cannot parse access token", 190)
    if status == "expired":
        return graph_error(
            400,
            "Error validating access token: Session has expired. The current time is "
            f"{sim.clock.now():%A, %d-%b-%y %H:%M:%S} UTC.",
            190,
            error_subcode=463,
        )
    return graph_error(
        400,
        "Error validating access token: The user has not authorized application "
        f"{sim.population.apps.meta_app_id}.",
        190,
        error_subcode=458,
    )


def graph_token(request: Request) -> str | None:
    return request.query_params.get("access_token") or bearer_token(request)


async def authenticate(request: Request, endpoint: str) -> tuple[SimState, Principal]:
    """Fault, then the token. A refused token still counts against the app's usage."""
    sim = sim_of(request)
    label(request, "meta", endpoint)
    token = graph_token(request)
    principal, status = sim.tokens.lookup("meta", token) if token else (None, "valid")
    identify(request, principal, token)

    def rate_limited(fault: Fault) -> PlatformError:
        code = fault.meta_code if fault.meta_code in THROTTLES else 4
        return throttle(code)

    await apply_fault(sim, "meta", server_error, rate_limited)
    if principal is None or status != "valid":
        attach_headers(request, sim.limits.meta.record(None, None).headers())
        raise token_error(sim, token, None if principal is None else status)
    return sim, principal


def charge(request: Request, sim: SimState, principal: Principal, target: Account | None) -> None:
    """Count the call against the app and against the business object it concerns (the
    target's account, else the token's own), then refuse it if a budget is spent."""
    account = target or principal.account
    if account is None:
        usage = sim.limits.meta.record(None, None)
    else:
        buc_type: BucType = "instagram" if account.platform == "instagram" else "pages"
        usage = sim.limits.meta.record(account.account_id, buc_type)
    attach_headers(request, usage.headers())
    if usage.throttled_by is not None:
        raise throttle(THROTTLE_CODE_OF[usage.throttled_by])


def readable_businesses(principal: Principal) -> set[int]:
    if principal.account is not None:
        return {principal.account.business_id}
    if principal.user is not None:
        return set(principal.user.business_ids)
    return set()


def owner_of(sim: SimState, found: Post | Account) -> Account:
    if isinstance(found, Account):
        return found
    account = sim.population.account(found.platform, found.account_id)
    assert account is not None
    return account


def resolve(
    request: Request, sim: SimState, principal: Principal, object_id: str
) -> Post | Account:
    """The post or account behind an id, if this token may read it; then the call is
    charged to its account. Otherwise 100/33 (charged to the token's own account)."""
    now = sim.clock.now()
    found: Post | Account | None = (
        sim.population.post("facebook", object_id, now)
        or sim.population.post("instagram", object_id, now)
        or sim.population.account("facebook", object_id)
        or sim.population.account("instagram", object_id)
    )
    if found is None or found.business_id not in readable_businesses(principal):
        charge(request, sim, principal, None)
        raise no_such_object(object_id)
    charge(request, sim, principal, owner_of(sim, found))
    return found


def require_page_token(principal: Principal) -> None:
    if principal.kind == "fb_user":
        raise graph_error(
            400, "(#210) A page access token is required to request this resource.", 210
        )


def require_permission(principal: Principal, permission: str) -> None:
    if not principal.has_scope(permission):
        raise graph_error(
            400,
            f"(#10) This endpoint requires the '{permission}' permission to access this object.",
            10,
        )


def top_level_fields(raw: str | None) -> list[str]:
    """``reactions.summary(total_count),comments.summary(true),shares`` -> the top-level
    fields with their modifiers, split on the commas outside parentheses and braces."""
    if not raw:
        return []
    fields: list[str] = []
    depth, current = 0, ""
    for char in raw:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        if char == "," and depth == 0:
            fields.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        fields.append(current.strip())
    return fields


def graph_time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S+0000")
