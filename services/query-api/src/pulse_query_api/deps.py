"""FastAPI dependencies: the cache and database access per request.

All ``async def``: FastAPI runs a plain ``def`` dependency in a worker thread, a hop that
costs more than the lookup itself on a cached answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from pulse_query_api.cache import AnswerCache


async def get_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


async def get_session(
    engine: Annotated[AsyncEngine, Depends(get_engine)],
) -> AsyncIterator[AsyncSession]:
    # No connection is taken from the pool until the first query: a cached answer never
    # touches one.
    async with AsyncSession(engine) as session:
        yield session


async def get_lookups(request: Request) -> asyncpg.Pool:
    """The membership lookups' pool: single autocommit SELECTs (pulse_query_api.app)."""
    lookups: asyncpg.Pool = request.app.state.lookups
    return lookups


async def get_cache(request: Request) -> AnswerCache:
    cache: AnswerCache = request.app.state.cache
    return cache


CacheDep = Annotated[AnswerCache, Depends(get_cache)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
LookupsDep = Annotated[asyncpg.Pool, Depends(get_lookups)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
