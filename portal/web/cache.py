"""Bodies rendered once and served many times: ETag, conditional GET, gzip kept ready."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.status_codes import HTTP_304_NOT_MODIFIED

COMPRESS_FROM = 1024  # bytes; smaller bodies are not worth a gzip header
PAGE_MAX_AGE = 60  # a page may change when a new release comes out
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class CachedBody:
    """A response body with its validator and its gzip form."""

    body: bytes
    media_type: str
    etag: str
    gzipped: bytes | None
    cache_control: str
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(
        cls,
        body: bytes | str,
        media_type: str,
        *,
        immutable: bool = False,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> CachedBody:
        """Wrap ``body``; pages may change with the next release, release files never do."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        packed = gzip.compress(data, 6, mtime=0) if len(data) >= COMPRESS_FROM else None
        control = IMMUTABLE if immutable else f"public, max-age={PAGE_MAX_AGE}"
        return cls(data, media_type, etag, packed, control, headers)

    def respond(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """A 304 when the client has it, else the body, gzipped when the client accepts."""
        headers = {
            "ETag": self.etag,
            "Cache-Control": self.cache_control,
            "Vary": "Accept-Encoding",
            **dict(self.headers),
        }
        if request.headers.get("if-none-match") == self.etag:
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        if self.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            headers["Content-Encoding"] = "gzip"
            return Response(self.gzipped, media_type=self.media_type, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)
