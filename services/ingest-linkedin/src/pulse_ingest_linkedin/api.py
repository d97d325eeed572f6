"""LinkedIn REST (``/rest/``) requests and answers, as plain functions of JSON.

Rest.li 2.0 syntax must reach LinkedIn as written: URNs percent-encoded, but the
``List(...)`` parentheses and commas bare. A query mapping handed to httpx would encode
those too (``List%28...%2C...%29``), so the share-statistics query is built here, already
encoded, into the path, and the request carries ``params=None``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, unquote

from pulse_ingest_linkedin.normalise import (
    anything_reported,
    no_activity_metrics,
    share_statistics_metrics,
)
from pulse_shared.ingest.contracts import ApiRequest, PostReading

API_BASE_URL = "https://api.linkedin.com"

SHARE_STATISTICS_PATH = "/rest/organizationalEntityShareStatistics"
SHARE_STATISTICS_ENDPOINT = "/rest/organizationalEntityShareStatistics"
NETWORK_SIZES_ENDPOINT = "/rest/networkSizes"
# The Posts API, asked whether posts still exist. Budget names of their own, apart from
# the listing's FINDER on /rest/posts: a throttled check must not hold up the listing.
POSTS_PATH = "/rest/posts"
POST_ENDPOINT = "/rest/posts/{urn}"
POSTS_BATCH_ENDPOINT = "/rest/posts?ids=List(...)"
RESTLI_PROTOCOL_VERSION = "2.0.0"
# The versioned (/rest) docs spell the edge type like this; the older v2 docs wrote
# CompanyFollowedByMember.
FOLLOWER_EDGE_TYPE = "COMPANY_FOLLOWED_BY_MEMBER"

# LinkedIn documents no maximum for the shares / ugcPosts lists, and its answers carry
# paging with a default page size of 10: asking for at most 10 posts keeps every answer
# on one page, so a post left out is known to have had no activity.
MAX_POSTS_PER_CALL = 10

PostKind = Literal["share", "ugcPost"]
# The query parameter that lists each kind, and the key its elements carry.
_LIST_PARAMETER: dict[PostKind, str] = {"share": "shares", "ugcPost": "ugcPosts"}

_POST_URN = re.compile(r"^urn:li:(share|ugcPost):[0-9]+$")
_ORGANIZATION_URN = re.compile(r"^urn:li:organization(Brand)?:[0-9]+$")
_VERSION = re.compile(r"^[0-9]{6}(\.[0-9]{2})?$")


def post_kind(urn: str) -> PostKind | None:
    """``urn:li:share:1`` -> "share", ``urn:li:ugcPost:1`` -> "ugcPost", else None."""
    match = _POST_URN.match(urn)
    if match is None:
        return None
    return "share" if match.group(1) == "share" else "ugcPost"


def is_organization_urn(urn: str) -> bool:
    return bool(_ORGANIZATION_URN.match(urn))


def check_api_version(version: str) -> str:
    """``LinkedIn-Version`` is required, with no default: a YYYYMM month (or YYYYMM.RR)."""
    if not _VERSION.match(version):
        raise ValueError(f"LinkedIn-Version must look like YYYYMM (e.g. 202611): {version!r}")
    return version


def linkedin_headers(api_version: str) -> dict[str, str]:
    return {
        "LinkedIn-Version": check_api_version(api_version),
        "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
    }


def encode_urn(urn: str) -> str:
    """``urn:li:share:1`` -> ``urn%3Ali%3Ashare%3A1`` (every reserved character encoded)."""
    return quote(urn, safe="")


def restli_list(values: Sequence[str]) -> str:
    """Rest.li 2.0 ``List(a,b)`` of encoded URNs."""
    return "List(" + ",".join(encode_urn(value) for value in values) + ")"


def share_statistics_request(
    organization_urn: str, post_urns: Sequence[str], *, api_version: str
) -> ApiRequest:
    """Lifetime statistics of some of an organisation's posts, all of one kind: shares
    and ugcPosts go in separate calls (mixing both lists in one is not documented)."""
    if not is_organization_urn(organization_urn):
        raise ValueError(f"not a LinkedIn organization URN: {organization_urn!r}")
    if not post_urns:
        raise ValueError("share statistics need at least one post URN")
    kind = post_kind(post_urns[0])
    if kind is None or any(post_kind(urn) != kind for urn in post_urns):
        raise ValueError(f"post URNs must all be shares or all ugcPosts: {list(post_urns)}")
    if len(post_urns) > MAX_POSTS_PER_CALL:
        raise ValueError(f"at most {MAX_POSTS_PER_CALL} posts per call, got {len(post_urns)}")
    query = "&".join(
        [
            "q=organizationalEntity",
            f"organizationalEntity={encode_urn(organization_urn)}",
            f"{_LIST_PARAMETER[kind]}={restli_list(post_urns)}",
        ]
    )
    return ApiRequest(
        path=f"{SHARE_STATISTICS_PATH}?{query}",
        endpoint=SHARE_STATISTICS_ENDPOINT,
        params=None,
        headers=linkedin_headers(api_version),
    )


def network_size_request(organization_urn: str, *, api_version: str) -> ApiRequest:
    """``GET /rest/networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER``: followers."""
    if not is_organization_urn(organization_urn):
        raise ValueError(f"not a LinkedIn organization URN: {organization_urn!r}")
    return ApiRequest(
        path=f"/rest/networkSizes/{encode_urn(organization_urn)}",
        endpoint=NETWORK_SIZES_ENDPOINT,
        params={"edgeType": FOLLOWER_EDGE_TYPE},
        headers=linkedin_headers(api_version),
    )


def _check_post_urns(post_urns: Sequence[str]) -> None:
    if not post_urns:
        raise ValueError("a post lookup needs at least one post URN")
    if any(post_kind(urn) is None for urn in post_urns):
        raise ValueError(f"not share or ugcPost URNs: {list(post_urns)}")
    if len(post_urns) > MAX_POSTS_PER_CALL:
        raise ValueError(f"at most {MAX_POSTS_PER_CALL} posts per call, got {len(post_urns)}")


def post_request(post_urn: str, *, api_version: str) -> ApiRequest:
    """``GET /rest/posts/{encoded urn}``: one post (404 once deleted)."""
    _check_post_urns([post_urn])
    return ApiRequest(
        path=f"{POSTS_PATH}/{encode_urn(post_urn)}",
        endpoint=POST_ENDPOINT,
        params=None,
        headers=linkedin_headers(api_version),
    )


def posts_batch_request(post_urns: Sequence[str], *, api_version: str) -> ApiRequest:
    """``GET /rest/posts?ids=List(...)`` (BATCH_GET): several posts in one call, shares
    and ugcPosts alike; the answer maps each id to its post or its error."""
    _check_post_urns(post_urns)
    return ApiRequest(
        path=f"{POSTS_PATH}?ids={restli_list(list(dict.fromkeys(post_urns)))}",
        endpoint=POSTS_BATCH_ENDPOINT,
        params=None,
        headers={**linkedin_headers(api_version), "X-RestLi-Method": "BATCH_GET"},
    )


# --- answers ----------------------------------------------------------------------------


def _whole_number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def next_start_of(answer: Mapping[str, Any], start: int, element_count: int) -> int | None:
    """Rest.li offset paging (``paging{start,count,total?,links[]}``) of a page asked for
    from ``start``: the next page's ``start``, or None when this page is the last (empty;
    ``total`` reached; or shorter than its ``count`` with no ``next`` link). Counted from
    the ``start`` asked for, not the one echoed, so a server that echoes it wrong cannot
    send the listing round in a loop."""
    if element_count == 0:
        return None
    paging = answer.get("paging")
    paging = paging if isinstance(paging, Mapping) else {}
    following = start + element_count
    total = _whole_number(paging.get("total"))
    if total is not None:
        return following if following < total else None
    links = paging.get("links")
    if isinstance(links, list) and any(
        isinstance(link, Mapping) and link.get("rel") == "next" for link in links
    ):
        return following
    page_size = _whole_number(paging.get("count"))
    if page_size is not None and element_count < page_size:
        return None
    return following


@dataclass
class ShareStatistics:
    readings: list[PostReading] = field(default_factory=list)
    # Asked-for posts the answer left out (no activity, per the docs).
    omitted: list[str] = field(default_factory=list)


def _object(body: object, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValueError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _answer_is_complete(answer: Mapping[str, Any], element_count: int) -> bool:
    """Whether the answer holds every element: fewer elements than the page size, and no
    link to a next page. Only then may an omitted post be read as "no activity"."""
    paging = answer.get("paging")
    if not isinstance(paging, Mapping):
        return True
    links = paging.get("links")
    if isinstance(links, list) and any(
        isinstance(link, Mapping) and link.get("rel") == "next" for link in links
    ):
        return False
    page_size = paging.get("count")
    return not isinstance(page_size, int) or element_count < page_size


def parse_share_statistics(
    body: object, requested: Sequence[str], *, omitted_means_zero: bool = True
) -> ShareStatistics:
    """An ``organizationalEntityShareStatistics`` answer for the ``requested`` post URNs.

    Per-post elements carry ``share`` or ``ugcPost``; the organisation's aggregate carries
    neither and is skipped. A requested post that is left out has had no activity (the
    docs: omitted = 0), so with ``omitted_means_zero`` it reads as zeros, but only when
    the answer is visibly complete (a truncated page must not zero a busy post)."""
    answer = _object(body, "share statistics")
    elements = answer.get("elements")
    if not isinstance(elements, list) or not all(isinstance(e, Mapping) for e in elements):
        raise ValueError("share statistics: elements must be a list of objects")
    wanted = set(requested)
    statistics = ShareStatistics()
    answered: set[str] = set()
    for element in elements:
        urn = element.get("share", element.get("ugcPost"))
        if urn is None:
            continue  # the organisation-wide aggregate
        if not isinstance(urn, str) or urn not in wanted or urn in answered:
            continue
        totals = element.get("totalShareStatistics")
        if not isinstance(totals, Mapping):
            raise ValueError(f"share statistics: {urn} has no totalShareStatistics")
        answered.add(urn)
        metrics = share_statistics_metrics(totals)
        if anything_reported(metrics):
            statistics.readings.append(PostReading(platform_post_id=urn, metrics=metrics))
    statistics.omitted = [urn for urn in dict.fromkeys(requested) if urn not in answered]
    if omitted_means_zero and _answer_is_complete(answer, len(elements)):
        statistics.readings.extend(
            PostReading(platform_post_id=urn, metrics=no_activity_metrics())
            for urn in statistics.omitted
        )
    return statistics


def _keyed_by_urn(answer: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A Rest.li batch map (``results``, ``statuses`` or ``errors``), keyed by URN whether
    the answer writes its keys encoded or not; absent = empty."""
    entries = answer.get(name, {})
    if not isinstance(entries, Mapping):
        raise ValueError(f"posts batch: {name} must be an object")
    return {unquote(str(key)): value for key, value in entries.items()}


def _status_of(status: object, error: object) -> int | None:
    if isinstance(status, int) and not isinstance(status, bool):
        return status
    if isinstance(error, Mapping):
        return _whole_number(error.get("status"))
    return None


def parse_deleted_posts(body: object, requested: Sequence[str]) -> list[str]:
    """Of the ``requested`` posts, those a BATCH_GET of the Posts API answers as not
    found (404 in ``statuses``, or an ``errors`` entry with status 404): deleted.

    A post in ``results`` exists; one with another error (403, 5xx) or not mentioned at
    all is not known to be gone, and is not listed."""
    answer = _object(body, "posts batch")
    if not any(name in answer for name in ("results", "statuses", "errors")):
        raise ValueError("posts batch: no results, statuses or errors")
    results = _keyed_by_urn(answer, "results")
    statuses = _keyed_by_urn(answer, "statuses")
    errors = _keyed_by_urn(answer, "errors")
    return [
        urn
        for urn in dict.fromkeys(requested)
        if urn not in results and _status_of(statuses.get(urn), errors.get(urn)) == 404
    ]


def parse_network_size(body: object) -> int:
    """``GET /rest/networkSizes/{urn}`` -> ``firstDegreeSize``."""
    answer = _object(body, "network size")
    size = answer.get("firstDegreeSize")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError("network size: firstDegreeSize is missing or not a count")
    return size
