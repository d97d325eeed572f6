"""What the routes share, built once at start-up (app.py's lifespan)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
from authlib.integrations.starlette_client import StarletteOAuth2App
from fastapi import Depends, Request

from .assets import Asset, list_assets
from .identity import Renewal
from .limits import Limits
from .sessions import SessionStore
from .settings import Settings


class Pages:
    """The built page's files: a request path is looked up in their listing, never joined
    onto the file system. Listed at start-up, and again when a path is missing (a new build
    names its assets anew), at most once a second so that misses cost no directory walk
    each."""

    RELIST_EVERY_S = 1.0

    def __init__(self, dist: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self._dist = dist
        self._clock = clock
        self._listed_at = float("-inf")
        self.top: dict[str, Path] = {}
        self.assets: dict[str, Asset] = {}
        self._list()

    @classmethod
    def of(cls, dist: Path) -> Pages:
        return cls(dist)

    def _list(self) -> None:
        dist = self._dist
        self.top = {p.name: p for p in dist.iterdir() if p.is_file()} if dist.is_dir() else {}
        self.assets = list_assets(dist / "assets")
        self._listed_at = self._clock()

    def asset(self, path: str) -> Asset | None:
        found = self.assets.get(path)
        if found is None and self._clock() - self._listed_at >= self.RELIST_EVERY_S:
            self._list()
            found = self.assets.get(path)
        return found

    def top_file(self, name: str) -> Path | None:
        found = self.top.get(name)
        if found is None and self._clock() - self._listed_at >= self.RELIST_EVERY_S:
            self._list()
            found = self.top.get(name)
        return found


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: SessionStore
    idp: StarletteOAuth2App
    renewal: Renewal
    query_api: httpx.AsyncClient
    workspace: httpx.AsyncClient
    reporter: httpx.AsyncClient
    ingest: dict[str, httpx.AsyncClient]
    pages: Pages
    limits: Limits | None  # None: rate limits switched off


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
