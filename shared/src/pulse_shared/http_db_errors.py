"""How a service's routes answer when PostgreSQL fails under them: an outage (refused,
broken, shutting down, a statement past its timeout) is a 503 with Retry-After naming whose
database it is; anything else the database or its driver raised is a fault of ours, a 500
whose details stay in the log.

A module of its own, not pulse_shared.db's: that one is imported by processes without a
web framework, and the dashboard's server, which has no database, pins what it imports.
"""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError

from pulse_shared.db import database_timed_out, database_unreachable
from pulse_shared.logs import get_logger

log = get_logger(__name__)

# Everything the database and its drivers raise (asyncpg's own, and SQLAlchemy's around it).
DATABASE_EXCEPTIONS: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    DBAPIError,
)
RETRY_AFTER_S = 5


def database_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unavailable right now rather than that a
    statement of ours is wrong."""
    return database_unreachable(exc) or database_timed_out(exc) or isinstance(exc, OperationalError)


def answer_database_errors(app: FastAPI, database: str) -> None:
    """Registers the handler of every database exception on ``app``; ``database`` names it
    in the 503's message ("the workspace database")."""
    unavailable = f"{database} is unavailable right now; try again shortly"

    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if database_outage(exc):
            return JSONResponse(
                {"detail": unavailable},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        log.error("database error", error=repr(exc)[:500], path=request.url.path, exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    for exception in DATABASE_EXCEPTIONS:
        app.add_exception_handler(exception, database_error)
