"""The msgspec decoder generated from MetricsObserved against pydantic, the authority:
on a seeded corpus of valid and broken payloads, whatever the fast decoder accepts,
pydantic accepts with the same values; what ingest publishes, it accepts."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
import pytest
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo

from pulse_aggregator.fast_decode import FastDecoder, struct_of
from pulse_shared.events import METRIC_NAMES, PLATFORMS, MetricsObserved

DECODER = FastDecoder(MetricsObserved)
SEED = 19


def valid_event(rng: random.Random) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    for name in METRIC_NAMES:
        roll = rng.random()
        if roll < 0.2:
            continue  # absent: null
        if name == "video_watch_time_s":
            metrics[name] = rng.choice([None, 0, 12, 3.25, 1e6])
        else:
            metrics[name] = rng.choice([None, 0, 7, 2**40, 2**63 - 1])
    event: dict[str, Any] = {
        "business_id": rng.choice([1, 42, 2**63 - 1]),
        "platform": rng.choice(PLATFORMS),
        "platform_post_id": rng.choice(["1", "urn:li:share:7", "x" * 255, "é\u2603"]),
        "observed_at": rng.choice(
            [
                "2026-11-25T10:00:00Z",
                "2026-11-25T10:00:00.5Z",
                "2026-11-25T10:00:00.123456+02:00",
                "2026-11-25T23:30:00-05:30",
                "2000-01-01T00:00:00Z",
            ]
        ),
        "source": rng.choice(["poll", "webhook", "refresh", "backfill"]),
        "metrics": metrics,
    }
    if rng.random() < 0.7:
        event["event_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if rng.random() < 0.5:
        event["schema_version"] = 1
    return event


# Each replaces one field (a dotted path into the event) with a value, or drops it (...).
BREAKAGES: list[tuple[str, Any]] = [
    ("business_id", "7"), ("business_id", 0), ("business_id", -1), ("business_id", 2**63),
    ("business_id", 7.0), ("business_id", True), ("business_id", None), ("business_id", ...),
    ("platform", "Twitter"), ("platform", "tiktok"), ("platform", None),
    ("platform_post_id", ""), ("platform_post_id", "x" * 256), ("platform_post_id", "a\x00b"),
    ("platform_post_id", 7), ("observed_at", "2026-11-25T10:00:00"),
    ("observed_at", "1999-12-31T23:59:59Z"), ("observed_at", "2026-11-25"),
    ("observed_at", "2026-11-25T24:00:00Z"), ("observed_at", "2026-11-25T23:59:60Z"),
    ("observed_at", "2026-11-25T10:00:00.1234567Z"), ("observed_at", "2026-13-01T00:00:00Z"),
    ("observed_at", "2026-11-25 10:00:00Z"), ("observed_at", "2026-11-25t10:00:00z"),
    ("observed_at", 1764064800), ("observed_at", "yesterday"),
    ("observed_at", "9999-12-31T23:59:59-05:00"), ("source", "POLL"),
    ("source", None), ("event_id", "not-a-uuid"), ("event_id", 5),
    ("event_id", "F26C8807712045EFB40BB8C89593EE72"),
    ("event_id", "{f26c8807-7120-45ef-b40b-b8c89593ee72}"),
    ("schema_version", 2), ("schema_version", "1"), ("schema_version", True),
    ("metrics", None), ("metrics", []), ("metrics", "{}"), ("metrics.likes", -1),
    ("metrics.likes", 2**63), ("metrics.likes", 1.0), ("metrics.likes", 1.5),
    ("metrics.likes", "3"), ("metrics.likes", False), ("metrics.video_watch_time_s", -0.5),
    ("metrics.video_watch_time_s", "1"), ("metrics.video_watch_time_s", 7),
    ("metrics.bogus", 1), ("bogus", 1), ("metrics", ...), ("source", ...),
]  # fmt: skip


def broken(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(event))
    *parents, name = path.split(".")
    target = out
    for parent in parents:
        target = target[parent]
    if value is ...:
        target.pop(name, None)
    else:
        target[name] = value
    return out


def corpus() -> list[bytes]:
    rng = random.Random(SEED)
    payloads: list[bytes] = []
    for _ in range(300):
        event = valid_event(rng)
        payloads.append(json.dumps(event).encode())
        path, value = rng.choice(BREAKAGES)
        payloads.append(json.dumps(broken(event, path, value)).encode())
    event = valid_event(rng)
    payloads += [json.dumps(broken(event, p, v)).encode() for p, v in BREAKAGES]
    # Not JSON, or JSON the strict parsers may read differently.
    payloads += [
        b"", b"{", b"null", b"[]", b'{"business_id": NaN}', b"\xff\xfe",
        json.dumps(event).encode() + b" trailing",
        json.dumps(event).replace('"source"', '"source": "poll", "source"', 1).encode(),
        json.dumps(event).encode().replace(b'"metrics": {', b'"metrics": {"likes": 1, ', 1),
    ]  # fmt: skip
    return payloads


def as_plain(value: Any) -> Any:
    return msgspec.structs.asdict(value) | {"metrics": msgspec.structs.asdict(value.metrics)}


@pytest.mark.parametrize("payload", corpus())
def test_what_the_fast_decoder_accepts_pydantic_accepts_with_the_same_values(
    payload: bytes,
) -> None:
    fast = DECODER.decode(payload)
    try:
        authority = MetricsObserved.model_validate_json(payload)
    except ValidationError:
        assert fast is None, "the fast decoder accepted what pydantic refuses"
        return
    if fast is None:
        return  # stricter than pydantic: the record goes to pydantic, which decides
    plain = as_plain(fast)
    if "event_id" not in json.loads(payload):
        plain["event_id"] = authority.event_id  # each draws its own uuid4
    assert plain == authority.model_dump()
    assert fast.observed_at.tzinfo is UTC


def test_every_valid_event_and_what_ingest_publishes_takes_the_fast_path() -> None:
    rng = random.Random(SEED)
    for _ in range(200):
        event = MetricsObserved.model_validate_json(json.dumps(valid_event(rng)))
        for payload in (event.model_dump_json().encode(), json.dumps(valid_event(rng)).encode()):
            assert DECODER.decode(payload) is not None, payload


def test_the_structs_have_the_models_fields() -> None:
    struct, _ = struct_of(MetricsObserved)
    assert set(struct.__struct_fields__) == set(MetricsObserved.model_fields)
    fast = DECODER.decode(json.dumps(valid_event(random.Random(SEED))).encode())
    assert fast is not None
    assert set(type(fast.metrics).__struct_fields__) == set(METRIC_NAMES)


def test_a_model_construct_without_a_translation_fails_at_once() -> None:
    def needs_info(value: int, info: ValidationInfo) -> int:
        return value

    class WithInfoValidator(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")
        n: Annotated[int, AfterValidator(needs_info)]

    class WithList(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")
        items: list[int]

    class Lenient(BaseModel):
        n: int

    for model in (WithInfoValidator, WithList, Lenient):
        with pytest.raises(TypeError):
            struct_of(model)


def test_a_validator_of_the_model_runs_on_the_fast_path() -> None:
    payload = broken(valid_event(random.Random(SEED)), "observed_at", "2026-11-25T12:00:00+02:00")
    fast = DECODER.decode(json.dumps(payload).encode())
    assert fast is not None
    assert fast.observed_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert fast.observed_at.tzinfo is UTC


def test_the_validators_of_a_nested_model_run_too() -> None:
    def shout(value: str) -> str:
        if value == "no":
            raise ValueError("refused")
        return value.upper()

    class Inner(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")
        word: Annotated[str, AfterValidator(shout)]

    class Outer(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")
        inner: Inner | None = None

    decoder = FastDecoder(Outer)
    decoded = decoder.decode(b'{"inner": {"word": "hi"}}')
    assert decoded is not None
    authority = Outer.model_validate_json('{"inner": {"word": "hi"}}')
    assert authority.inner is not None
    assert decoded.inner.word == authority.inner.word == "HI"
    assert decoder.decode(b'{"inner": {"word": "no"}}') is None  # pydantic words the reason
    assert decoder.decode(b"{}") is not None
