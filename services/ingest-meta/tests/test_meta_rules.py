"""Graph API error codes and usage headers -> the shared ApiErrors and RateLimitState."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from pulse_ingest_meta.rules import (
    MediaTypeMetricRefused,
    MetaRules,
    ObjectMissing,
    refused_metric_names,
)
from pulse_shared.ingest.contracts import (
    MetricRefused,
    PermanentError,
    RateLimited,
    TokenInvalid,
    TransientError,
)

RULES = MetaRules(default_throttle_wait_s=300.0)


def graph_error(code: int, message: str = "…", **extra: Any) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AbC",
            **extra,
        }
    }


def insights_response(
    status: int, body: dict[str, Any], metrics: str, **kwargs: Any
) -> httpx.Response:
    request = httpx.Request(
        "GET", "https://graph.facebook.com/v26.0/1031_2087/insights", params={"metric": metrics}
    )
    return httpx.Response(status, json=body, request=request, **kwargs)


def test_a_200_is_usable() -> None:
    assert RULES.error_of(httpx.Response(200, json={"data": []})) is None


def test_documented_token_error_means_the_token_is_dead() -> None:
    body = {
        "error": {
            "message": "Error validating access token: The session has been invalidated because "
            "the user changed their password.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 460,
            "error_user_title": "…",
            "error_user_msg": "…",
            "fbtrace_id": "…",
        }
    }
    error = RULES.error_of(httpx.Response(400, json=body))
    assert isinstance(error, TokenInvalid)
    assert "subcode 460" in str(error)


def test_the_app_throttle_is_scoped_to_the_app() -> None:
    error = RULES.error_of(
        httpx.Response(403, json=graph_error(4, "(#4) Application request limit reached"))
    )
    assert isinstance(error, RateLimited)
    assert (error.scope, error.retry_after_s) == ("app", 300.0)


@pytest.mark.parametrize("code", [17, 32, 613, 80001, 80002])
def test_account_throttles_wait_the_time_meta_names(code: int) -> None:
    usage = {
        "1031": [
            {
                "type": "pages",
                "call_count": 100,
                "total_cputime": 40,
                "total_time": 60,
                "estimated_time_to_regain_access": 12,
            }
        ]
    }
    response = httpx.Response(
        400,
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
        json=graph_error(code, "(#80001) There have been too many calls to this Page account."),
    )
    error = RULES.error_of(response)
    assert isinstance(error, RateLimited)
    assert (error.scope, error.retry_after_s) == ("account", 720.0)


def test_a_throttle_without_a_regain_time_waits_the_default() -> None:
    usage = {"1031": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 0}]}
    response = httpx.Response(
        400, headers={"X-Business-Use-Case-Usage": json.dumps(usage)}, json=graph_error(32)
    )
    error = RULES.error_of(response)
    assert isinstance(error, RateLimited)
    assert error.retry_after_s == 300.0


def test_the_documented_retired_metric_error_names_no_metric() -> None:
    body = graph_error(100, "(#100) The value must be a valid insights metric")
    error = RULES.error_of(insights_response(400, body, "post_impressions,post_clicks"))
    assert type(error) is MetricRefused
    assert error.metrics == []


def test_a_metric_named_in_the_message_is_the_refused_one() -> None:
    body = graph_error(
        100,
        "(#100) Starting from version v22.0 and above, the plays metric is no longer "
        "supported for Instagram Media objects. Please use views instead.",
    )
    response = insights_response(400, body, "views,plays,likes")
    error = RULES.error_of(response)
    assert isinstance(error, MetricRefused)
    assert error.metrics == ["plays"]


def test_a_metric_refused_for_this_media_type_is_marked_so() -> None:
    body = graph_error(
        100,
        "(#100) The Media Insights API does not support the impressions metric for this "
        "media product type.",
    )
    error = RULES.error_of(httpx.Response(400, json=body))
    assert isinstance(error, MediaTypeMetricRefused)
    assert error.metrics == ["impressions"]


def test_refused_names_from_the_list_of_valid_ones_or_an_index() -> None:
    message = "(#100) metric[1] must be one of the following values: views, reach, likes, saved"
    assert refused_metric_names(message, ["views", "post_impressions", "likes"]) == [
        "post_impressions"
    ]
    assert refused_metric_names("(#100) Invalid metric[2]", ["a", "b", "c"]) == ["c"]
    # A name that was not asked for cannot be the refused one.
    assert refused_metric_names("(#100) the impressions metric is gone", ["views"]) == []
    # Without the request at hand, any known name the message blames.
    assert refused_metric_names("(#100) post_impressions is not a valid metric", None) == [
        "post_impressions"
    ]


def test_a_missing_object_is_told_apart() -> None:
    body = graph_error(
        100,
        "Unsupported get request. Object with ID '1031_9999' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation.",
        error_subcode=33,
    )
    assert isinstance(RULES.error_of(httpx.Response(400, json=body)), ObjectMissing)
    assert isinstance(
        RULES.error_of(
            httpx.Response(
                404, json=graph_error(803, "(#803) Some of the aliases you requested do not exist")
            )
        ),
        ObjectMissing,
    )


def test_other_invalid_parameters_are_permanent() -> None:
    body = graph_error(100, "(#100) Tried accessing nonexisting field (sharez)")
    error = RULES.error_of(httpx.Response(400, json=body))
    assert type(error) is PermanentError


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(500, json=graph_error(1, "An unknown error occurred")),
        httpx.Response(503, json=graph_error(2, "Service temporarily unavailable")),
        httpx.Response(400, json=graph_error(368, "Temporarily blocked", is_transient=True)),
        httpx.Response(502, text="Bad Gateway"),
    ],
)
def test_transient_errors(response: httpx.Response) -> None:
    assert isinstance(RULES.error_of(response), TransientError)


def test_usage_pct_is_the_highest_percentage_of_both_headers() -> None:
    response = httpx.Response(
        200,
        headers={
            "X-App-Usage": json.dumps({"call_count": 28, "total_time": 25, "total_cputime": 25}),
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    "1031": [
                        {
                            "type": "pages",
                            "call_count": 1,
                            "total_cputime": 1,
                            "total_time": 1,
                            "estimated_time_to_regain_access": 0,
                        }
                    ]
                }
            ),
        },
        json={"data": []},
    )
    state = RULES.rate_limit_state(response)
    assert state.usage_pct == 28.0
    assert state.regain_after_s is None


def test_usage_headers_absent_or_garbled_say_nothing() -> None:
    state = RULES.rate_limit_state(httpx.Response(200, headers={"X-App-Usage": "{oops"}, json={}))
    assert (state.usage_pct, state.regain_after_s) == (None, None)
