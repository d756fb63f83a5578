"""The officers' page: ``/`` and its files under ``/web/`` (api/web, no build step, nothing external).

Files are read once per process, gzipped when the browser accepts it, and served with an ETag. The
page refers to its files with ``?v=<version>`` (a hash of every file), so those may be cached for
good; the page itself is revalidated on every load. A strict Content-Security-Policy allows only
this service: no CDN, font or script from elsewhere (a closed police network).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response

from api.problems import Problem, ProblemCode

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
       "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class Asset:
    media_type: str
    raw: bytes
    gz: bytes
    etag: str


class WebAssets:
    """Every file of the page, loaded on first use (never at import)."""

    def __init__(self, root: Path = WEB_DIR) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._files: dict[str, Asset] | None = None
        self.version = ""

    def _load(self) -> dict[str, Asset]:
        with self._lock:
            if self._files is not None:
                return self._files
            paths = sorted(p for p in self.root.rglob("*") if p.is_file() and p.suffix in MEDIA_TYPES)
            raw = {p.relative_to(self.root).as_posix(): p.read_bytes() for p in paths}
            digest = hashlib.sha256()
            for name, data in raw.items():
                digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
            self.version = digest.hexdigest()[:12]
            files = {}
            for name, data in raw.items():
                if name == "index.html":
                    data = data.replace(b"__V__", self.version.encode())
                files[name] = Asset(MEDIA_TYPES[Path(name).suffix], data, gzip.compress(data, 9, mtime=0),
                                    f'"{hashlib.sha256(data).hexdigest()[:20]}"')
            self._files = files
            return files

    def get(self, name: str) -> Asset | None:
        return self._load().get(name)


def _respond(asset: Asset, accept_encoding: str | None, if_none_match: str | None, cache: str) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": cache, "Vary": "Accept-Encoding"}
    if if_none_match and asset.etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    if accept_encoding and "gzip" in accept_encoding.lower() and len(asset.gz) < len(asset.raw):
        return Response(asset.gz, media_type=asset.media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(asset.raw, media_type=asset.media_type, headers=headers)


def build_router(assets: WebAssets | None = None) -> APIRouter:
    assets = assets or WebAssets()
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def page(
        accept_encoding: Annotated[str | None, Header()] = None,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        asset = assets.get("index.html")
        if asset is None:
            raise Problem(ProblemCode.NOT_FOUND, "the web page is not installed")
        return _respond(asset, accept_encoding, if_none_match, "no-cache")

    @router.get("/web/{name:path}")
    async def web_file(
        name: str,
        v: Annotated[str, Query(max_length=40)] = "",
        accept_encoding: Annotated[str | None, Header()] = None,
        if_none_match: Annotated[str | None, Header()] = None,
    ) -> Response:
        asset = assets.get(name)  # only the files found under api/web: no path is ever opened from the URL
        if asset is None or name == "index.html":
            raise Problem(ProblemCode.NOT_FOUND, f"no file {name}")
        cache = "public, max-age=31536000, immutable" if v and v == assets.version else "no-cache"
        return _respond(asset, accept_encoding, if_none_match, cache)

    return router
