"""Issue 13, item 5: the token first, then a small body, and errors that never echo the input
back: query-api authenticates before it reads anything of a request, refuses a body over its
cap with 413 before reading it whole, shows at most a short excerpt of bad input, and reads
types strictly (JSON's true is not the business 1, "0.0" is not a date; 1.0 is the number
1, as JSON Schema reads it)."""

from __future__ import annotations

import secrets

import httpx
import pytest

from pulse_testing.http import raw_post
from pulse_testing.infra import Infra
from pulse_testing.processes import ServiceProcess

pytestmark = pytest.mark.integration

REFRESH = "/api/v1/analytics/refresh"


@pytest.fixture(scope="module")
async def member(infra: Infra) -> tuple[int, dict[str, str]]:
    business = secrets.randbelow(2**62) + 10**12
    _, token = await infra.token_for(business)
    return business, {"Authorization": f"Bearer {token}"}


async def test_no_token_is_401_before_any_parameter_or_body_is_looked_at(
    query_api: ServiceProcess,
) -> None:
    async with httpx.AsyncClient(base_url=query_api.url, timeout=30) as client:
        for path, params in (
            ("/api/v1/analytics/overview", {"business_id": "0", "start_date": "x"}),
            ("/api/v1/analytics/trends", {"period": "hourly"}),
            ("/api/v1/analytics/best-times", {"days": "1000"}),
            ("/api/v1/analytics/calendar", {}),
            ("/api/v1/analytics/posts/abc", {}),
        ):
            response = await client.get(path, params=params)
            assert response.status_code == 401, (path, response.text)
        bad_body = await client.post(REFRESH, content=b"{not json", headers={
            "Content-Type": "application/json"})  # fmt: skip
        assert bad_body.status_code == 401, bad_body.text
        bad_token = await client.post(REFRESH, json={"business_id": True}, headers={
            "Authorization": "Bearer not-a-token"})  # fmt: skip
        assert bad_token.status_code == 401, bad_token.text


async def test_a_body_over_the_cap_is_413_before_it_is_read(
    query_api: ServiceProcess, member: tuple[int, dict[str, str]]
) -> None:
    _, headers = member
    json_type = {"Content-Type": "application/json"}
    declared = await raw_post(
        query_api, REFRESH, {**headers, **json_type, "Content-Length": "10000000"},
        b'{"business_id": 1',
    )  # fmt: skip
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
    # Without a declared length the body is cut off where it passes the cap.
    chunk = b"x" * 8192
    streamed = await raw_post(
        query_api, REFRESH, {**headers, **json_type, "Transfer-Encoding": "chunked"},
        f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n",
    )  # fmt: skip
    assert streamed.startswith(b"HTTP/1.1 413"), streamed[:200]


async def test_a_422_shows_only_a_short_excerpt_of_the_input(
    query_api: ServiceProcess, member: tuple[int, dict[str, str]]
) -> None:
    business, headers = member
    long_text = "y" * 3000
    async with httpx.AsyncClient(base_url=query_api.url, headers=headers, timeout=30) as client:
        as_query = await client.get(
            "/api/v1/analytics/overview", params={"business_id": business, "platform": long_text}
        )
        as_body = await client.post(REFRESH, json={"business_id": business,
                                                   "platforms": [long_text]})  # fmt: skip
    for response, loc in ((as_query, ["query", "platform"]),
                          (as_body, ["body", "platforms", 0])):  # fmt: skip
        assert response.status_code == 422, response.text[:200]
        assert len(response.content) < 1000
        detail = response.json()["detail"][0]
        assert detail["loc"] == loc
        assert detail["input"].startswith("yyyy")
        assert len(detail["input"]) <= 65


async def test_types_are_read_strictly(
    query_api: ServiceProcess, member: tuple[int, dict[str, str]]
) -> None:
    business, headers = member
    async with httpx.AsyncClient(base_url=query_api.url, headers=headers, timeout=30) as client:
        bodies = (
            {"business_id": True},
            {"business_id": str(business)},
            {"business_id": 1.5},
            # From 2**53 a float may not be the number written (this one reads as 2**53).
            {"business_id": float(2**53 + 1)},
            {"business_id": business, "platforms": "x"},
        )
        for body in bodies:
            response = await client.post(REFRESH, json=body)
            assert response.status_code == 422, (body, response.text)
            assert response.json()["detail"][0]["loc"][0] == "body"
        # JSON Schema's integer is 1 or 1.0 alike: read as the business 1 (not the caller's).
        whole_float = await client.post(REFRESH, json={"business_id": 1.0})
        assert whole_float.status_code == 404, whole_float.text
        for value in ("true", "1.0", "1e3", " 1", "+1", "0x1"):
            response = await client.get("/api/v1/analytics/overview", params={"business_id": value})
            assert response.status_code == 422, (value, response.text)
            assert response.json()["detail"][0]["loc"] == ["query", "business_id"]
        response = await client.get("/api/v1/analytics/posts/1.0")
        assert response.status_code == 422, response.text
        response = await client.get(
            "/api/v1/analytics/overview", params={"business_id": business, "end_date": "0.0"}
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "end_date"]
