"""What the routes share, built once at start-up (app.py's lifespan)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import httpx
from authlib.integrations.starlette_client import StarletteOAuth2App  # type: ignore[import-untyped]
from fastapi import Depends, Request

from .identity import Renewal
from .sessions import SessionStore
from .settings import Settings


@dataclass(frozen=True)
class Pages:
    """The built page's files, listed once (they never change while the server runs): a
    request path is looked up, never joined onto the file system."""

    top: dict[str, Path]
    assets: dict[str, Path]

    @classmethod
    def of(cls, dist: Path) -> Pages:
        top = {p.name: p for p in dist.iterdir() if p.is_file()} if dist.is_dir() else {}
        root = dist / "assets"
        assets = (
            {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
            if root.is_dir()
            else {}
        )
        return cls(top, assets)


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: SessionStore
    idp: StarletteOAuth2App
    renewal: Renewal
    query_api: httpx.AsyncClient
    workspace: httpx.AsyncClient
    ingest: dict[str, httpx.AsyncClient]
    pages: Pages


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]
