"""LinkedIn REST: finding an administrator's organizations and what they posted.

- ``GET /rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED``: the
  organizations the member behind the token administers.
- ``GET /rest/organizations/{id}`` and ``GET /rest/organizations?ids=List(…)``: names.
- ``GET /rest/posts?q=author&author={org-urn}&count&start&sortBy``: an organization's
  posts, newest first, offset paging; ``GET /rest/posts/{urn}``: one post (404 once
  deleted); ``GET /rest/posts?ids=List({urn},…)`` (BATCH_GET): several, each id in the
  Rest.li batch answer's ``results`` or, deleted, its ``errors`` (404).
- ``GET /rest/organizationalEntityFollowerStatistics?q=organizationalEntity&…&timeIntervals=…``:
  follower gains per day (or month).

The same headers, tokens and daily limits as every ``/rest`` call (:func:`.linkedin.gate`).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from pulse_platform_sim.population import Account, Post
from pulse_platform_sim.routes.linkedin import (
    ADMIN_SCOPES,
    administered,
    error,
    forbidden,
    gate,
    ms,
    organization_of,
    require_scope,
    restli_list,
    time_periods,
    whole,
)
from pulse_platform_sim.state import SimState
from pulse_platform_sim.tokens import Principal

router = APIRouter(tags=["LinkedIn REST"])

ACLS = "organizationAcls"
ORGANIZATIONS = "organizations"
POSTS = "posts"
FOLLOWER_STATISTICS = "organizationalEntityFollowerStatistics"
MAX_COUNT = 100
SORTS = ("LAST_MODIFIED", "CREATED")
ORGANIZATION_URN = "urn:li:organization:"
# Lifetime follower statistics come as facets; the simulator has no demographics.
FACETS = (
    "followerCountsByAssociationType",
    "followerCountsBySeniority",
    "followerCountsByIndustry",
    "followerCountsByFunction",
    "followerCountsByStaffCountRange",
    "followerCountsByGeoCountry",
    "followerCountsByGeo",
)


def _paging(request: Request, start: int, count: int, total: int) -> dict[str, Any]:
    """Rest.li offset paging, with a ``next`` link while more elements follow."""
    links: list[dict[str, Any]] = []
    params = {k: v for k, v in request.query_params.items() if k not in ("start", "count")}
    for rel, at in (("prev", start - count), ("next", start + count)):
        if (rel == "prev" and start > 0) or (rel == "next" and at < total):
            query = urlencode({**params, "start": max(0, at), "count": count}, safe="():,")
            links.append(
                {"type": "application/json", "rel": rel, "href": f"{request.url.path}?{query}"}
            )
    return {"start": start, "count": count, "links": links, "total": total}


def _offsets(request: Request, default_count: int = 10) -> tuple[int, int]:
    params = request.query_params
    start, count = whole(params.get("start"), 0), whole(params.get("count"), default_count)
    if count > MAX_COUNT:
        raise error(400, "ILLEGAL_ARGUMENT", f"count must be at most {MAX_COUNT}")
    return start, count


# --- organizations the member administers ------------------------------------------------


@router.get(f"/rest/{ACLS}", summary="The organizations the member administers")
async def organization_acls(request: Request) -> JSONResponse:
    sim, principal = await gate(request, ACLS)
    require_scope(principal, ACLS, *ADMIN_SCOPES)
    params = request.query_params
    if params.get("q") != "roleAssignee":
        raise error(400, "ILLEGAL_ARGUMENT", "q must be roleAssignee")
    start, count = _offsets(request)
    member = principal.user
    elements = [
        {
            "organization": account.account_id,
            "role": "ADMINISTRATOR",
            "roleAssignee": member.linkedin_urn if member else "",
            "state": "APPROVED",
        }
        for account in administered(sim, principal)
        if params.get("role", "ADMINISTRATOR") == "ADMINISTRATOR"
        and params.get("state", "APPROVED") == "APPROVED"
    ]
    return JSONResponse(
        {
            "paging": _paging(request, start, count, len(elements)),
            "elements": elements[start : start + count],
        }
    )


def _organization(account: Account) -> dict[str, Any]:
    number = int(account.account_id.removeprefix(ORGANIZATION_URN))
    return {
        "id": number,
        "$URN": account.account_id,
        "localizedName": account.name,
        "vanityName": account.handle,
        "name": {
            "localized": {"en_US": account.name},
            "preferredLocale": {"country": "US", "language": "en"},
        },
        "localizedWebsite": f"https://www.{account.handle}.example",
    }


def _organization_by_number(sim: SimState, number: str) -> Account | None:
    return sim.population.account("linkedin", ORGANIZATION_URN + number.strip())


@router.get(f"/rest/{ORGANIZATIONS}/{{organization_id}}", summary="An organization")
async def organization(request: Request, organization_id: str) -> JSONResponse:
    sim, _ = await gate(request, ORGANIZATIONS)
    account = _organization_by_number(sim, unquote(organization_id).removeprefix(ORGANIZATION_URN))
    if account is None:
        raise error(404, "NOT_FOUND", f"Organization {organization_id} does not exist", 100)
    return JSONResponse(_organization(account))


@router.get(f"/rest/{ORGANIZATIONS}", summary="Organizations by id (BATCH_GET)")
async def organizations(request: Request) -> JSONResponse:
    sim, _ = await gate(request, ORGANIZATIONS)
    raw = unquote(request.query_params.get("ids", ""))
    if not (raw.startswith("List(") and raw.endswith(")")):
        raise error(400, "ILLEGAL_ARGUMENT", "ids must be List(id,...)")
    results: dict[str, Any] = {}
    statuses: dict[str, int] = {}
    errors: dict[str, Any] = {}
    for number in (n.strip() for n in raw[5:-1].split(",") if n.strip()):
        account = _organization_by_number(sim, number)
        if account is None:
            statuses[number] = 404
            errors[number] = {"status": 404, "message": "Not Found"}
        else:
            statuses[number] = 200
            results[number] = _organization(account)
    return JSONResponse({"results": results, "statuses": statuses, "errors": errors})


# --- posts -----------------------------------------------------------------------------


def _asset(kind: str, post: Post, n: int = 0) -> str:
    digest = hashlib.sha256(f"{post.post_id}:{n}".encode()).hexdigest()[:20].upper()
    return f"urn:li:{kind}:D4E{digest}"


def _content(post: Post) -> dict[str, Any] | None:
    if post.content_type == "image":
        return {"media": {"id": _asset("image", post), "altText": ""}}
    if post.content_type == "video":
        return {"media": {"id": _asset("video", post), "title": post.content}}
    if post.content_type == "carousel":
        return {"multiImage": {"images": [{"id": _asset("image", post, n)} for n in range(3)]}}
    if post.content_type == "link":
        return {
            "article": {
                "source": f"https://www.example.com/blog/{post.post_id.rsplit(':', 1)[1]}",
                "title": post.content,
            }
        }
    return None


def post_element(post: Post) -> dict[str, Any]:
    at = ms(post.published_at)
    element: dict[str, Any] = {
        "isReshareDisabledByAuthor": False,
        "createdAt": at,
        "lifecycleState": "PUBLISHED",
        "lastModifiedAt": at,
        "visibility": "PUBLIC",
        "publishedAt": at,
        "author": post.account_id,
        "id": post.post_id,
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "commentary": post.content,
        "lifecycleStateInfo": {"isEditedByAuthor": False},
    }
    if (content := _content(post)) is not None:
        element["content"] = content
    return element


def _entity_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {"status": status, "serviceErrorCode": 100, "code": code, "message": message}


def _posts_batch(sim: SimState, principal: Principal, urns: list[str]) -> JSONResponse:
    """BATCH_GET: every id answered in ``statuses``; a post in ``results``, a deleted (or
    never existing) one a 404 in ``errors``, another organization's a 403."""
    if not urns:
        raise error(400, "ILLEGAL_ARGUMENT", "ids must name at least one post")
    if len(urns) > MAX_COUNT:
        raise error(400, "ILLEGAL_ARGUMENT", f"at most {MAX_COUNT} ids")
    ours = {a.account_id for a in administered(sim, principal)}
    results: dict[str, Any] = {}
    statuses: dict[str, int] = {}
    errors: dict[str, Any] = {}
    for urn in dict.fromkeys(urns):
        post = sim.population.post("linkedin", urn, sim.clock.now())
        if post is None:
            statuses[urn] = 404
            errors[urn] = _entity_error(404, "NOT_FOUND", f"Post {quote(urn, safe='')} not found")
        elif post.account_id not in ours:
            statuses[urn] = 403
            errors[urn] = _entity_error(403, "ACCESS_DENIED", f"Not enough permissions: {urn}")
        else:
            statuses[urn] = 200
            results[urn] = post_element(post)
    return JSONResponse({"results": results, "statuses": statuses, "errors": errors})


@router.get(
    f"/rest/{POSTS}", summary="An organization's posts (FINDER author), or posts by id (BATCH_GET)"
)
async def posts_by_author(request: Request) -> JSONResponse:
    sim, principal = await gate(request, POSTS)
    require_scope(principal, POSTS, "r_organization_social")
    params = request.query_params
    if "ids" in params:
        return _posts_batch(sim, principal, restli_list(params.get("ids")))
    if params.get("q") != "author":
        raise error(400, "ILLEGAL_ARGUMENT", "q must be author")
    account = organization_of(sim, principal, params.get("author"), POSTS)
    sort = params.get("sortBy", "LAST_MODIFIED")
    if sort not in SORTS:
        raise error(400, "ILLEGAL_ARGUMENT", f"sortBy must be one of {', '.join(SORTS)}")
    start, count = _offsets(request)
    # Simulated posts are never edited: last modified = created = published.
    posts = sorted(
        sim.population.posts_of(account, sim.clock.now()),
        key=lambda p: (p.published_at, p.post_id),
        reverse=True,
    )
    page = posts[start : start + count]
    return JSONResponse(
        {
            "paging": _paging(request, start, count, len(posts)),
            "elements": [post_element(p) for p in page],
        }
    )


@router.get(f"/rest/{POSTS}/{{urn:path}}", summary="One post")
async def one_post(request: Request, urn: str) -> JSONResponse:
    sim, principal = await gate(request, POSTS)
    require_scope(principal, POSTS, "r_organization_social")
    post_urn = unquote(urn)
    post = sim.population.post("linkedin", post_urn, sim.clock.now())
    if post is None:
        raise error(404, "NOT_FOUND", f"Post {quote(post_urn, safe='')} does not exist", 100)
    if post.account_id not in {a.account_id for a in administered(sim, principal)}:
        raise forbidden(POSTS)
    return JSONResponse(post_element(post))


# --- followers over time ---------------------------------------------------------------


@router.get(f"/rest/{FOLLOWER_STATISTICS}", summary="Organization follower statistics")
async def follower_statistics(request: Request) -> JSONResponse:
    """Time-bound: one element per period with the followers gained in it. A period's
    gain is the difference of the follower totals at its ends, so today's total
    (networkSizes) minus the gains after a day gives the count at that day's end."""
    sim, principal = await gate(request, FOLLOWER_STATISTICS)
    require_scope(principal, FOLLOWER_STATISTICS, *ADMIN_SCOPES)
    params = request.query_params
    if params.get("q") != "organizationalEntity":
        raise error(400, "ILLEGAL_ARGUMENT", "q must be organizationalEntity")
    account = organization_of(
        sim, principal, params.get("organizationalEntity"), FOLLOWER_STATISTICS
    )
    raw = params.get("timeIntervals")
    elements: list[dict[str, Any]] = []
    if raw is None:
        elements.append({**{f: [] for f in FACETS}, "organizationalEntity": account.account_id})
    else:
        for start, end in time_periods(raw, sim.clock.now()):
            gained = account.followers_at(end) - account.followers_at(start)
            paid = gained // 10  # a tenth of the growth comes from sponsored content
            elements.append(
                {
                    "timeRange": {"start": ms(start), "end": ms(end)},
                    "followerGains": {
                        "organicFollowerGain": gained - paid,
                        "paidFollowerGain": paid,
                    },
                    "organizationalEntity": account.account_id,
                }
            )
    paging = {"count": whole(params.get("count"), 10), "start": whole(params.get("start"), 0)}
    return JSONResponse({"paging": paging, "elements": elements})
