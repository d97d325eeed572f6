"""LinkedIn REST (``/rest``): organization share statistics and follower counts, and the
gate every ``/rest`` resource goes through (:func:`gate`).

Every call needs ``LinkedIn-Version: YYYYMM`` (missing: 400; not an active version: 426
NONEXISTENT_VERSION) and ``X-Restli-Protocol-Version: 2.0.0`` (the ``List(...)`` syntax
is Rest.li 2.0). Limits are daily, per app and per member, with no rate-limit headers.
A standing token acts for its own organization; a member token from the OAuth flow for
every organization its member administers, within the scopes granted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_platform_sim.errors import PlatformError
from pulse_platform_sim.faults import Fault
from pulse_platform_sim.population import Account, Post
from pulse_platform_sim.routes.gate import apply_fault, bearer_token, identify, label
from pulse_platform_sim.state import SimState, sim_of
from pulse_platform_sim.tokens import Principal
from pulse_platform_sim.truth import Counts, counts_at, linkedin_share_statistics

router = APIRouter(tags=["LinkedIn REST"])

SHARE_STATISTICS = "organizationalEntityShareStatistics"
NETWORK_SIZES = "networkSizes"
# Reading an organization's statistics and roles (rw_ is the documented one).
ADMIN_SCOPES = ("rw_organization_admin", "r_organization_admin")
FOLLOWER_EDGES = ("COMPANY_FOLLOWED_BY_MEMBER", "CompanyFollowedByMember")
VERSION = re.compile(r"^(\d{4})(\d{2})(?:\d{2}|\.\d{2})?$")
TIME_INTERVALS = re.compile(
    r"timeRange:\(start:(\d+),end:(\d+)\)(?:,timeGranularityType:(DAY|MONTH))?"
)


def error(status: int, code: str, message: str, service_code: int | None = None) -> PlatformError:
    body: dict[str, Any] = {"status": status}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    body |= {"code": code, "message": message}
    return PlatformError(status, body)


def _server_error(status: int) -> PlatformError:
    phrase = HTTPStatus(status).phrase
    return error(status, phrase.upper().replace(" ", "_"), phrase)


def _throttled(which: str) -> PlatformError:
    return error(
        429,
        "TOO_MANY_REQUESTS",
        f"Resource level throttle {which} DAY limit for calls to this resource is reached.",
        101,
    )


def _active_version(sim: SimState, value: str) -> bool:
    match = VERSION.match(value)
    if match is None:
        return False
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return False
    now = sim.clock.now()
    age_months = (now.year * 12 + now.month) - (year * 12 + month)
    return 0 <= age_months < sim.settings.linkedin_active_version_months


async def gate(request: Request, resource: str) -> tuple[SimState, Principal]:
    """Fault, version headers, token and the daily limits of ``resource``."""
    sim = sim_of(request)
    label(request, "linkedin", f"GET /rest/{resource}")
    token = bearer_token(request) or request.query_params.get("oauth2_access_token")
    principal, status = sim.tokens.lookup("linkedin", token) if token else (None, "valid")
    identify(request, principal, token)

    def rate_limited(_: Fault) -> PlatformError:
        return _throttled("APPLICATION")

    await apply_fault(sim, "linkedin", _server_error, rate_limited)
    version = request.headers.get("linkedin-version")
    if not version:
        raise error(
            400,
            "VERSION_MISSING",
            "A version must be present. Please specify a version by adding the "
            "LinkedIn-Version header.",
        )
    if not _active_version(sim, version.strip()):
        raise error(426, "NONEXISTENT_VERSION", f"Requested version {version} is not active")
    if request.headers.get("x-restli-protocol-version") != "2.0.0":
        raise error(
            400,
            "ILLEGAL_ARGUMENT",
            "This request uses Rest.li 2.0 syntax: send X-Restli-Protocol-Version: 2.0.0",
        )
    if not token:
        raise PlatformError(
            401, {"message": "Empty oauth2_access_token", "serviceErrorCode": 401, "status": 401}
        )
    if principal is None or (principal.account is None and principal.user is None):
        raise error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
    if status == "expired":
        raise error(401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65601)
    if status == "revoked":
        raise error(
            401,
            "REVOKED_ACCESS_TOKEN",
            "The token used in the request has been revoked by the user",
            65602,
        )
    which = sim.limits.linkedin.check(resource, principal.label)
    if which is not None:
        raise _throttled(which)
    return sim, principal


def forbidden(resource: str, method: str = "GET") -> PlatformError:
    return error(
        403,
        "ACCESS_DENIED",
        f"Not enough permissions to access: {resource}.{method}.NO_VERSION",
        100,
    )


def require_scope(principal: Principal, resource: str, *any_of: str) -> None:
    if not principal.has_scope(*any_of):
        raise forbidden(resource)


def administered(sim: SimState, principal: Principal) -> list[Account]:
    """The organizations this token acts for: a standing token its own; a member token
    every organization its member administers."""
    if principal.account is not None:
        return [principal.account]
    if principal.user is None:
        return []
    return sim.population.accounts_of(principal.user, "linkedin")


def organization_of(sim: SimState, principal: Principal, raw: str | None, resource: str) -> Account:
    """The organization named in ``organizationalEntity``/``author``, if administered."""
    organization = unquote(raw or "")
    if not organization:
        raise error(400, "ILLEGAL_ARGUMENT", "An organization URN is required")
    for account in administered(sim, principal):
        if account.account_id == organization:
            return account
    raise forbidden(resource)


def restli_list(value: str | None) -> list[str]:
    """``List(urn%3Ali%3Ashare%3A1,...)`` -> the URNs (decoded once more if still encoded)."""
    if not value:
        return []
    value = value.strip()
    if not (value.startswith("List(") and value.endswith(")")):
        raise error(400, "ILLEGAL_ARGUMENT", f"Invalid Rest.li list: {value[:80]}")
    return [unquote(item.strip()) for item in value[5:-1].split(",") if item.strip()]


def _minus(later: Counts, earlier: Counts) -> Counts:
    return Counts(
        **{
            name: getattr(later, name) - getattr(earlier, name)
            for name in Counts.__dataclass_fields__
        }
    )


def _sum(counts: list[Counts]) -> Counts:
    return Counts(
        **{name: sum(getattr(c, name) for c in counts) for name in Counts.__dataclass_fields__}
    )


def time_periods(raw: str, now: datetime) -> list[tuple[datetime, datetime]]:
    match = TIME_INTERVALS.search(unquote(raw))
    if match is None:
        raise error(400, "ILLEGAL_ARGUMENT", f"Invalid timeIntervals: {raw[:120]}")
    start = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    end = min(datetime.fromtimestamp(int(match.group(2)) / 1000, UTC), now)
    granularity = match.group(3) or "DAY"
    periods: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end and len(periods) < 1000:
        if granularity == "DAY":
            following = cursor + timedelta(days=1)
        else:
            year, month = divmod(cursor.month, 12)
            following = cursor.replace(year=cursor.year + year, month=month + 1)
        periods.append((cursor, min(following, end)))
        cursor = following
    return periods


def _between(post: Post, start: datetime | None, end: datetime) -> Counts:
    """What the post gathered from ``start`` (None: publishing) to ``end``."""
    counts = counts_at(post, end)
    return counts if start is None else _minus(counts, counts_at(post, start))


def _has_activity(counts: Counts) -> bool:
    return any(getattr(counts, name) for name in Counts.__dataclass_fields__)


def whole(value: str | None, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit():
        raise error(400, "ILLEGAL_ARGUMENT", f"Invalid paging value: {value[:20]}")
    return int(value)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@router.get(f"/rest/{SHARE_STATISTICS}", summary="Organization share statistics")
async def share_statistics(request: Request) -> JSONResponse:
    sim, principal = await gate(request, SHARE_STATISTICS)
    require_scope(principal, SHARE_STATISTICS, *ADMIN_SCOPES)
    params = request.query_params
    if params.get("q") != "organizationalEntity":
        raise error(400, "ILLEGAL_ARGUMENT", "q must be organizationalEntity")
    account = organization_of(sim, principal, params.get("organizationalEntity"), SHARE_STATISTICS)
    organization = account.account_id
    now = sim.clock.now()
    shares = restli_list(params.get("shares"))
    ugc_posts = restli_list(params.get("ugcPosts"))
    wanted: list[tuple[str, Post]] = []
    for key, urns, prefix in (
        ("share", shares, "urn:li:share:"),
        ("ugcPost", ugc_posts, "urn:li:ugcPost:"),
    ):
        for urn in dict.fromkeys(urns):
            post = sim.population.post("linkedin", urn, now)
            # Another organization's post, or a URN of the other kind, has no statistics here.
            if post is not None and post.account_id == organization and urn.startswith(prefix):
                wanted.append((key, post))
    per_post = bool(shares or ugc_posts)
    if not per_post:
        wanted = [("", p) for p in sim.population.posts_of(account, now)]
    raw_intervals = params.get("timeIntervals")
    periods: list[tuple[datetime | None, datetime]] = [(None, now)]
    if raw_intervals is not None:
        periods = list(time_periods(raw_intervals, now))
    elements: list[dict[str, Any]] = []
    for start, end in periods:
        rows: list[tuple[str, Post | None, Counts]] = [
            (key, post, _between(post, start, end)) for key, post in wanted
        ]
        if not per_post:
            rows = [("", None, _sum([counts for _, _, counts in rows]))]
        for key, post, counts in rows:
            if post is not None and not _has_activity(counts):
                continue  # posts without activity are left out
            item: dict[str, Any] = {"organizationalEntity": organization}
            if post is not None:
                item[key] = post.post_id
            if start is not None:
                item["timeRange"] = {"start": ms(start), "end": ms(end)}
            item["totalShareStatistics"] = linkedin_share_statistics(counts)
            elements.append(item)
    paging = {"count": whole(params.get("count"), 10), "start": whole(params.get("start"), 0)}
    return JSONResponse({"paging": paging, "elements": elements})


@router.get(f"/rest/{NETWORK_SIZES}/{{urn}}", summary="Organization follower count")
async def network_size(request: Request, urn: str) -> JSONResponse:
    sim, _ = await gate(request, NETWORK_SIZES)
    organization = unquote(urn)
    if request.query_params.get("edgeType") not in FOLLOWER_EDGES:
        raise error(400, "ILLEGAL_ARGUMENT", "edgeType must be COMPANY_FOLLOWED_BY_MEMBER")
    account = sim.population.account("linkedin", organization)
    if account is None:
        raise error(404, "NOT_FOUND", f"Organization {organization} does not exist")
    return JSONResponse({"firstDegreeSize": account.followers_at(sim.clock.now())})
