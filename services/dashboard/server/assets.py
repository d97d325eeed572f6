"""How the built page's files are sent: each asset compressed at build (``.br`` and ``.gz``
beside it, vite.config.ts), the encoding the browser accepts chosen per request, and the
cache rules of content-addressed files.

Vite names every asset by a hash of its content (``index-C-7ZkQ5M.js``), so an asset never
changes under its name: browsers and proxies may keep it a year without asking again
(``immutable``). ``index.html`` names the current assets and is revalidated on every load
(``no-cache``), so a release reaches everyone at their next load.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path

ASSET_CACHE = "public, max-age=31536000, immutable"
PAGE_CACHE = "no-cache"

# Content codings in the server's order of preference (brotli is ~15% smaller than gzip
# on this page's scripts), each with the suffix the build writes.
CODINGS = (("br", ".br"), ("gzip", ".gz"))
_SUFFIXES = tuple(suffix for _, suffix in CODINGS)


@dataclass(frozen=True)
class Asset:
    path: Path
    encoded: dict[str, Path] = field(default_factory=dict)  # content coding -> its file

    @property
    def media_type(self) -> str:
        return mimetypes.guess_type(self.path.name)[0] or "application/octet-stream"


def list_assets(root: Path) -> dict[str, Asset]:
    """The assets under ``root`` by their path from it, each with its compressed siblings
    (which are not served under their own names)."""
    if not root.is_dir():
        return {}
    files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    return {
        name: Asset(
            path,
            {coding: files[name + suffix] for coding, suffix in CODINGS if name + suffix in files},
        )
        for name, path in files.items()
        if not name.endswith(_SUFFIXES)
    }


def accepted_codings(accept_encoding: str) -> set[str]:
    """The content codings an ``Accept-Encoding`` header accepts (RFC 9110 §12.5.3): those
    named with a weight above zero. ``*`` is not taken as brotli or gzip: a client that
    names neither gets the plain file, which every client reads."""
    accepted = set()
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding and weight > 0:
            accepted.add(coding.strip().lower())
    return accepted


def choose_coding(asset: Asset, accept_encoding: str) -> str | None:
    """The preferred coding that the asset has and the request accepts; None: plain."""
    accepted = accepted_codings(accept_encoding)
    return next((c for c, _ in CODINGS if c in asset.encoded and c in accepted), None)
