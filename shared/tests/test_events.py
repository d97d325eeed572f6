"""The wire format of DESIGN.md, as the event models accept and refuse it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pulse_shared.events import (
    AccountObserved,
    MetricsObserved,
    PostPublished,
    PostRemoved,
    RefreshRequested,
    describe_validation_error,
)
from pulse_shared.topics import EVENT_TYPES, key_for

# The examples of DESIGN.md's "Wire format", verbatim but for a concrete uuid.
DESIGN_EXAMPLES = {
    "posts.published.v1": {
        "event_id": "6a1f6f0e-9d1c-4c0e-9a53-0c1f2b3d4e5f",
        "schema_version": 1,
        "business_id": 42,
        "platform": "linkedin",
        "platform_post_id": "urn:li:share:123",
        "account_id": "urn:li:organization:9",
        "published_at": "2026-11-02T09:30:00Z",
        "content": "text preview",
        "content_type": "text",
        "platform_post_url": "https://www.linkedin.com/feed/update/urn:li:share:123",
        "video_duration_s": None,
        "thumbnail_url": None,
    },
    # DESIGN.md's "Accounts, teams, reports" names its fields.
    "posts.removed.v1": {
        "event_id": "5a0f6f0e-9d1c-4c0e-9a53-0c1f2b3d4e5f",
        "schema_version": 1,
        "business_id": 42,
        "platform": "facebook",
        "platform_post_id": "105555762093395_1200",
        "removed_at": "2026-11-04T08:00:00Z",
    },
    "metrics.observed.v1": {
        "event_id": "7b2f6f0e-9d1c-4c0e-9a53-0c1f2b3d4e5f",
        "schema_version": 1,
        "business_id": 42,
        "platform": "twitter",
        "platform_post_id": "1850000000000000000",
        "observed_at": "2026-11-03T10:00:00Z",
        "source": "poll",
        "metrics": {
            "likes": 10,
            "comments": 2,
            "shares": 3,
            "reactions": None,
            "retweets": 3,
            "quote_tweets": 1,
            "impressions": 1200,
            "reach": None,
            "clicks": 14,
            "video_views": None,
            "video_watch_time_s": None,
            "saves": None,
        },
    },
    "accounts.observed.v1": {
        "event_id": "8c2f6f0e-9d1c-4c0e-9a53-0c1f2b3d4e5f",
        "schema_version": 1,
        "business_id": 42,
        "platform": "instagram",
        "account_id": "17841400000000000",
        "observed_at": "2026-11-03T10:00:00Z",
        "followers": 5120,
    },
    "refresh.requested.v1": {
        "event_id": "9d2f6f0e-9d1c-4c0e-9a53-0c1f2b3d4e5f",
        "schema_version": 1,
        "business_id": 42,
        "platforms": ["linkedin", "twitter"],
        "requested_at": "2026-11-03T10:00:00Z",
    },
}


@pytest.mark.parametrize("topic", sorted(DESIGN_EXAMPLES))
def test_design_examples_round_trip(topic: str) -> None:
    raw = json.dumps(DESIGN_EXAMPLES[topic])
    event = EVENT_TYPES[topic].model_validate_json(raw)
    again = json.loads(event.model_dump_json())
    assert again == DESIGN_EXAMPLES[topic]


def test_a_post_announced_without_a_thumbnail_as_before_discovery_is_taken() -> None:
    payload = dict(DESIGN_EXAMPLES["posts.published.v1"])
    del payload["thumbnail_url"]
    assert PostPublished.model_validate_json(json.dumps(payload)).thumbnail_url is None
    payload["thumbnail_url"] = "javascript:alert(1)"
    assert error_for(PostPublished, payload).startswith("thumbnail_url: String should match")


def test_a_removal_is_keyed_as_its_post_so_both_share_a_partition() -> None:
    removed = PostRemoved.model_validate_json(json.dumps(DESIGN_EXAMPLES["posts.removed.v1"]))
    published = PostPublished.model_validate_json(
        json.dumps({**DESIGN_EXAMPLES["posts.published.v1"], "platform": "facebook",
                    "platform_post_id": "105555762093395_1200"})
    )  # fmt: skip
    assert key_for(removed) == key_for(published) == b"facebook:105555762093395_1200"


def error_for(model: type, payload: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate_json(json.dumps(payload))  # type: ignore[attr-defined]
    return describe_validation_error(info.value)


def metrics_payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = json.loads(json.dumps(DESIGN_EXAMPLES["metrics.observed.v1"]))
    payload.update(changes)
    return payload


def test_unknown_fields_are_refused_by_name() -> None:
    assert error_for(MetricsObserved, metrics_payload(colour="red")) == (
        "colour: Extra inputs are not permitted"
    )
    nested = metrics_payload(metrics={"likes": 1, "hearts": 2})
    assert error_for(MetricsObserved, nested) == "metrics.hearts: Extra inputs are not permitted"


def test_strings_are_not_coerced_to_numbers() -> None:
    message = error_for(MetricsObserved, metrics_payload(metrics={"likes": "10"}))
    assert message.startswith("metrics.likes: Input should be a valid integer")
    assert "business_id" in error_for(MetricsObserved, metrics_payload(business_id="42"))


def test_missing_fields_are_named() -> None:
    payload = metrics_payload()
    del payload["observed_at"]
    assert error_for(MetricsObserved, payload) == "observed_at: Field required"


def test_negative_counts_and_bad_enums_are_refused() -> None:
    assert "metrics.impressions: Input should be greater than or equal to 0" in error_for(
        MetricsObserved, metrics_payload(metrics={"impressions": -5})
    )
    assert error_for(MetricsObserved, metrics_payload(platform="myspace")).startswith("platform:")
    assert error_for(MetricsObserved, metrics_payload(source="guess")).startswith("source:")
    assert error_for(MetricsObserved, metrics_payload(schema_version=2)).startswith(
        "schema_version:"
    )


def test_timestamps_must_carry_a_zone_and_become_utc() -> None:
    naive = error_for(MetricsObserved, metrics_payload(observed_at="2026-11-03T10:00:00"))
    assert naive.startswith("observed_at: Input should have timezone info")
    event = MetricsObserved.model_validate_json(
        json.dumps(metrics_payload(observed_at="2026-11-03T12:00:00+02:00"))
    )
    assert event.observed_at == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    assert event.observed_at.utcoffset() is not None
    assert event.observed_at.tzinfo == UTC


def test_impossible_values_are_refused() -> None:
    assert "must not be before 2000-01-01" in error_for(
        MetricsObserved, metrics_payload(observed_at="1970-01-01T00:00:00Z")
    )
    # Past datetime's range once in UTC: a reason, not an OverflowError out of the decoder
    # (one such record stopped every batch behind it).
    assert error_for(
        MetricsObserved, metrics_payload(observed_at="9999-12-31T23:59:59-05:00")
    ).startswith("observed_at: Value error, is out of range once in UTC")
    assert "NUL" in error_for(MetricsObserved, metrics_payload(platform_post_id="a\u0000b"))
    assert error_for(MetricsObserved, metrics_payload(business_id=0)).startswith("business_id:")


def test_bad_json_is_a_validation_error_too() -> None:
    with pytest.raises(ValidationError) as info:
        MetricsObserved.model_validate_json(b"{not json")
    assert describe_validation_error(info.value).startswith("<event>: Invalid JSON")


def test_missing_metrics_stay_null_and_zero_stays_zero() -> None:
    event = MetricsObserved.model_validate_json(json.dumps(metrics_payload(metrics={"likes": 0})))
    assert event.metrics.likes == 0
    assert event.metrics.impressions is None


def test_keys_keep_one_post_on_one_partition() -> None:
    post = PostPublished.model_validate_json(json.dumps(DESIGN_EXAMPLES["posts.published.v1"]))
    metrics = MetricsObserved.model_validate_json(
        json.dumps(metrics_payload(platform="linkedin", platform_post_id="urn:li:share:123"))
    )
    assert key_for(post) == key_for(metrics) == b"linkedin:urn:li:share:123"
    account = AccountObserved.model_validate_json(
        json.dumps(DESIGN_EXAMPLES["accounts.observed.v1"])
    )
    assert key_for(account) == b"instagram:17841400000000000"
    refresh = RefreshRequested(
        business_id=42, platforms=["twitter"], requested_at=datetime.now(UTC)
    )
    assert key_for(refresh) == b"42"


def test_event_ids_default_to_fresh_uuids() -> None:
    a = RefreshRequested(business_id=1, platforms=["twitter"], requested_at=datetime.now(UTC))
    b = RefreshRequested(business_id=1, platforms=["twitter"], requested_at=datetime.now(UTC))
    assert isinstance(a.event_id, uuid.UUID)
    assert a.event_id != b.event_id
