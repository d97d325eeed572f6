"""What a service answers when the database fails under a route: an outage is a 503 with
Retry-After naming whose database; anything else is a 500 that tells the client nothing of
the database's message (in-process ASGI: the exceptions are asyncpg's and SQLAlchemy's own)."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from pulse_shared.http_db_errors import answer_database_errors

RAISED: dict[str, BaseException] = {
    "refused": ConnectionRefusedError(111, "Connection refused"),
    "shutting-down": asyncpg.exceptions.AdminShutdownError("terminating connection"),
    "timed-out": asyncpg.exceptions.QueryCanceledError("canceling statement due to timeout"),
    "wrapped": OperationalError("SELECT 1", {}, ConnectionResetError()),
    "bug": asyncpg.exceptions.UndefinedColumnError('column "secret_thing" does not exist'),
}


def app() -> FastAPI:
    served = FastAPI()
    answer_database_errors(served, "the workspace database")

    @served.get("/{what}")
    async def failing(what: str) -> None:
        raise RAISED[what]

    return served


def get(path: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return asyncio.run(call())


@pytest.mark.parametrize("what", ["refused", "shutting-down", "timed-out", "wrapped"])
def test_an_outage_is_a_503_to_try_again_naming_the_database(what: str) -> None:
    answer = get(f"/{what}")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert answer.json() == {
        "detail": "the workspace database is unavailable right now; try again shortly"
    }


def test_any_other_database_error_is_a_500_that_says_nothing_of_it() -> None:
    answer = get("/bug")
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error"}
    assert "secret_thing" not in answer.text
