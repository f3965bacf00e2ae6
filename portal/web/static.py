"""The site's own files (``static/``), read once, gzipped once, served from memory.

URLs carry the file's content hash (``/static/site.css?v=1a2b3c4d``), so a browser may keep
a file for a year: a changed file gets a new URL.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from litestar.status_codes import HTTP_302_FOUND

from portal.web.cache import CachedBody
from publishing.i18n import _

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".txt": "text/plain",
    ".svg": "image/svg+xml",
}


class StaticFiles:
    """Every file under a directory, kept in memory with its gzip form and hash."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.files: dict[str, CachedBody] = {}
        self.versions: dict[str, str] = {}
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            name = path.relative_to(directory).as_posix()
            data = path.read_bytes()
            media = (
                _TYPES.get(path.suffix)
                or mimetypes.guess_type(name)[0]
                or ("application/octet-stream")
            )
            self.files[name] = CachedBody.of(data, media, immutable=True)
            self.versions[name] = hashlib.sha256(data).hexdigest()[:10]

    def url(self, name: str) -> str:
        """The versioned URL of a static file."""
        return f"/static/{name}?v={self.versions[name]}"


@get("/static/{name:path}", include_in_schema=False, sync_to_thread=False)
def static_file(
    name: FromPath[str],
    request: Request[Any, Any, Any],
    static_files: NamedDependency[StaticFiles],
    v: FromQuery[str | None] = None,
) -> Response[bytes] | Redirect:
    """A file of ``static/``. ``v`` is its version, as the pages link it; another version
    (a page from before the file changed) is redirected to the current one, so that any
    number of versions is one file to every cache."""
    path = name.lstrip("/")
    found = static_files.files.get(path)
    if found is None:
        raise NotFoundException(_("there is no file {path!r} here").format(path=path))
    if v is not None and v != static_files.versions[path]:
        return Redirect(static_files.url(path), status_code=HTTP_302_FOUND)
    return found.respond(request)
