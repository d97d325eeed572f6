"""Meta Graph API requests and answers (Facebook Pages, Instagram), as plain functions
of JSON.

Paths are absolute from ``https://graph.facebook.com`` and start with the API version;
the shared caller adds the host and the account's Page / Instagram token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pulse_ingest_meta.normalise import FacebookCounts
from pulse_shared.ingest.contracts import ApiRequest
from pulse_shared.ingest.counts import count_of

GRAPH_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v26.0"

# The current names. post_impressions* were retired on 2025-11-15 (post_media_view
# replaced them) and the *_unique ones followed (post_total_media_view_unique).
FACEBOOK_POST_INSIGHT_METRICS: tuple[str, ...] = (
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_video_views",
    "post_video_view_time",
)
FACEBOOK_POST_COUNT_FIELDS = "reactions.summary(total_count),comments.summary(true),shares"
# video_views, impressions and plays are deprecated in every version: views replaced them.
INSTAGRAM_MEDIA_INSIGHT_METRICS: tuple[str, ...] = (
    "views",
    "reach",
    "likes",
    "comments",
    "shares",
    "saved",
    "total_interactions",
    # Reels only: for other media Meta refuses it for that media alone (dropped per post).
    "ig_reels_video_view_total_time",
)
# Names an error message may mention: the current ones and the retired ones.
RETIRED_INSIGHT_METRICS: frozenset[str] = frozenset(
    {
        "post_impressions",
        "post_impressions_paid",
        "post_impressions_organic",
        "post_impressions_fan",
        "post_impressions_viral",
        "post_impressions_nonviral",
        "post_impressions_unique",
        "page_impressions",
        "page_impressions_unique",
        "page_fans",
        "impressions",
        "plays",
        "video_views",
        "clips_replays_count",
        "ig_reels_aggregated_all_plays_count",
    }
)
KNOWN_INSIGHT_METRICS: frozenset[str] = (
    frozenset(FACEBOOK_POST_INSIGHT_METRICS)
    | frozenset(INSTAGRAM_MEDIA_INSIGHT_METRICS)
    | RETIRED_INSIGHT_METRICS
)

# Endpoint names for the shared rate-limit bookkeeping, in the docs' own notation (Meta's
# throttles cover every call of the app or account, so no budget is per endpoint).
FACEBOOK_POST_INSIGHTS_ENDPOINT = "/{post-id}/insights"
FACEBOOK_POST_ENDPOINT = "/{post-id}"
INSTAGRAM_MEDIA_INSIGHTS_ENDPOINT = "/{ig-media-id}/insights"
FACEBOOK_PAGE_ENDPOINT = "/{page-id}"
INSTAGRAM_USER_ENDPOINT = "/{ig-user-id}"

_API_VERSION = re.compile(r"^v[0-9]+\.[0-9]+$")
_NODE_ID = re.compile(r"^[0-9]{1,32}$")
# A Page post is "{page-id}_{post-id}".
_FACEBOOK_POST_ID = re.compile(r"^[0-9]{1,32}_[0-9]{1,32}$")


def check_api_version(version: str) -> str:
    if not _API_VERSION.match(version):
        raise ValueError(f"Graph API version must look like v26.0: {version!r}")
    return version


def is_node_id(value: str) -> bool:
    """A Page, Instagram user or Instagram media id."""
    return bool(_NODE_ID.match(value))


def is_facebook_post_id(value: str) -> bool:
    return bool(_FACEBOOK_POST_ID.match(value))


def _checked(node_id: str, valid: bool, what: str) -> str:
    if not valid:
        raise ValueError(f"not a {what} id: {node_id!r}")
    return node_id


def _metric_list(metrics: Sequence[str]) -> str:
    if not metrics:
        raise ValueError("an insights request needs at least one metric")
    return ",".join(metrics)


def facebook_post_insights_request(
    post_id: str, metrics: Sequence[str], *, api_version: str = DEFAULT_API_VERSION
) -> ApiRequest:
    _checked(post_id, is_facebook_post_id(post_id), "Facebook post")
    return ApiRequest(
        path=f"/{check_api_version(api_version)}/{post_id}/insights",
        endpoint=FACEBOOK_POST_INSIGHTS_ENDPOINT,
        params={"metric": _metric_list(metrics)},
    )


def facebook_post_counts_request(
    post_id: str, *, api_version: str = DEFAULT_API_VERSION
) -> ApiRequest:
    _checked(post_id, is_facebook_post_id(post_id), "Facebook post")
    return ApiRequest(
        path=f"/{check_api_version(api_version)}/{post_id}",
        endpoint=FACEBOOK_POST_ENDPOINT,
        params={"fields": FACEBOOK_POST_COUNT_FIELDS},
    )


def instagram_media_insights_request(
    media_id: str, metrics: Sequence[str], *, api_version: str = DEFAULT_API_VERSION
) -> ApiRequest:
    _checked(media_id, is_node_id(media_id), "Instagram media")
    return ApiRequest(
        path=f"/{check_api_version(api_version)}/{media_id}/insights",
        endpoint=INSTAGRAM_MEDIA_INSIGHTS_ENDPOINT,
        params={"metric": _metric_list(metrics)},
    )


def facebook_page_followers_request(
    page_id: str, *, api_version: str = DEFAULT_API_VERSION
) -> ApiRequest:
    # fan_count (Page likes) rides along in case followers_count is absent.
    _checked(page_id, is_node_id(page_id), "Facebook Page")
    return ApiRequest(
        path=f"/{check_api_version(api_version)}/{page_id}",
        endpoint=FACEBOOK_PAGE_ENDPOINT,
        params={"fields": "followers_count,fan_count"},
    )


def instagram_user_followers_request(
    user_id: str, *, api_version: str = DEFAULT_API_VERSION
) -> ApiRequest:
    _checked(user_id, is_node_id(user_id), "Instagram user")
    return ApiRequest(
        path=f"/{check_api_version(api_version)}/{user_id}",
        endpoint=INSTAGRAM_USER_ENDPOINT,
        params={"fields": "followers_count"},
    )


# --- answers ----------------------------------------------------------------------------


def _object(body: object, what: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValueError(f"{what}: expected a JSON object, got {type(body).__name__}")
    return body


def _latest_number(values: object) -> int | float | None:
    # Lifetime metrics carry one value; day/week ones one per end_time, oldest first.
    if not isinstance(values, list):
        return None
    for entry in reversed(values):
        if isinstance(entry, Mapping):
            value = entry.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                return value
    return None


def parse_insights(body: object) -> dict[str, int | float]:
    """An insights answer (``data[]`` of ``{name, period, values[{value}]}``) as metric
    name -> number. A lifetime entry wins over other periods of the same metric; a value
    that is no number (a breakdown object) is left out. No data gives an empty dict."""
    answer = _object(body, "insights")
    data = answer.get("data")
    if not isinstance(data, list):
        raise ValueError("insights: data must be a list")
    values: dict[str, int | float] = {}
    lifetime: set[str] = set()
    for entry in data:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise ValueError("insights: every data entry needs a name")
        name = entry["name"]
        value = _latest_number(entry.get("values"))
        # Instagram's total_value metrics carry {"total_value": {"value": n}} instead.
        if value is None:
            total = entry.get("total_value")
            if isinstance(total, Mapping):
                value = _latest_number([total])
        if value is None or (name in lifetime and entry.get("period") != "lifetime"):
            continue
        values[name] = value
        if entry.get("period") == "lifetime":
            lifetime.add(name)
    return values


def _summary_total(body: Mapping[str, Any], edge: str) -> int | None:
    node = body.get(edge)
    if not isinstance(node, Mapping):
        return None
    summary = node.get("summary")
    return count_of(summary.get("total_count")) if isinstance(summary, Mapping) else None


def parse_facebook_counts(body: object) -> FacebookCounts:
    """Reactions, comments and shares of a Page post. Graph leaves ``shares`` out of the
    answer when a post has never been shared, so an answer without it means 0."""
    answer = _object(body, "post counts")
    shares_node = answer.get("shares")
    if shares_node is None:
        shares: int | None = 0
    elif isinstance(shares_node, Mapping):
        shares = count_of(shares_node.get("count"))
    else:
        raise ValueError("post counts: shares must be an object")
    return FacebookCounts(
        reactions=_summary_total(answer, "reactions"),
        comments=_summary_total(answer, "comments"),
        shares=shares,
    )


def parse_followers(body: object) -> int:
    """``followers_count`` of a Page or an Instagram user (a Page without it: ``fan_count``)."""
    answer = _object(body, "followers")
    for field_name in ("followers_count", "fan_count"):
        followers = count_of(answer.get(field_name))
        if followers is not None:
            return followers
    raise ValueError("followers: followers_count is missing")
