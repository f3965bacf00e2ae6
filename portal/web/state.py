"""The site's shared state: the public store, its catalog, and the rendered-page cache.

Releases are immutable, so a page is rendered once per catalog version and kept, up to a
number of pages and of bytes (keys and bodies counted), least recently used out first. A
watcher thread checks the catalog's version every ``CATALOG_CHECK_SECONDS``; when a
release, an area or a report is added, it re-reads the catalog and the cache is emptied.
Requests never wait on the database for that: checking from the event loop took 25 to 30 ms
under load (against 0.5 ms idle) and set the site's slowest answers (bench/serve.py).
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import Engine

from portal.web.cache import CachedBody
from portal.web.render import Renderer
from publishing.catalog import Catalog, catalog_version, load_catalog
from publishing.i18n import language

log = logging.getLogger(__name__)

CATALOG_CHECK_SECONDS = 2.0
PAGE_CACHE_SIZE = 1024  # pages and files
PAGE_CACHE_BYTES = 32 * 1024 * 1024  # their keys, bodies and gzip forms
# What an entry costs beyond its key's and bodies' sizes: the CachedBody, its headers and
# the OrderedDict's slot.
_ENTRY_OVERHEAD = 400


def footprint(key: str, body: CachedBody) -> int:
    """The bytes a page cache entry holds, about."""
    size = _ENTRY_OVERHEAD + sys.getsizeof(key) + sys.getsizeof(body.body)
    size += sys.getsizeof(body.gzipped) if body.gzipped is not None else 0
    return size + sum(len(name) + len(value) for name, value in body.headers)


class SiteState:
    """What every request shares: the store, the catalog, the page cache and the templates
    (one dependency, so that a handler resolves one thing)."""

    def __init__(
        self,
        engine: Engine,
        renderer: Renderer,
        max_entries: int = PAGE_CACHE_SIZE,
        max_bytes: int = PAGE_CACHE_BYTES,
    ) -> None:
        self.engine = engine
        self.renderer = renderer
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._cache: OrderedDict[str, tuple[CachedBody, int]] = OrderedDict()
        self._bytes = 0
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def catalog(self) -> Catalog:
        """The current catalog: read by the first call, then kept current by the watcher."""
        catalog = self._catalog
        if catalog is not None:
            return catalog
        with self._lock:
            if self._catalog is None:
                self._use(_read(self.engine))
                _settle()
                self._watcher = threading.Thread(
                    target=self._watch, daemon=True, name="catalog-watcher"
                )
                self._watcher.start()
            assert self._catalog is not None
            return self._catalog

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def held_bytes(self) -> int:
        """What the page cache holds, as :func:`footprint` counts it."""
        return self._bytes

    def close(self) -> None:
        """Stop watching the public store."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)

    def _watch(self) -> None:
        while not self._stop.wait(CATALOG_CHECK_SECONDS):
            try:
                current = self._catalog
                if current is not None and catalog_version(self.engine) != current.version:
                    fresh = _read(self.engine)  # while requests go on with the old one
                    with self._lock:
                        self._use(fresh)
                    _settle()
            except Exception:  # the store cannot be read: keep serving what was published
                log.exception(
                    "cannot re-read the public store; the site keeps serving the "
                    "catalog it read before"
                )

    def _use(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._cache.clear()
        self._bytes = 0

    def cached(self, key: str, render: Callable[[Catalog], CachedBody]) -> CachedBody:
        """The body cached under ``key`` for the current catalog and the language being
        spoken, rendered on a miss."""
        key = f"{language()}:{key}"
        catalog = self.catalog()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit[0]
        body = render(catalog)
        size = footprint(key, body)
        if size > self.max_bytes // 16:
            return body  # too big to keep: it would push out many others
        with self._lock:
            if self._catalog is catalog and key not in self._cache:  # not stale meanwhile
                self._cache[key] = (body, size)
                self._bytes += size
                while len(self._cache) > self.max_entries or self._bytes > self.max_bytes:
                    _, (_, dropped) = self._cache.popitem(last=False)
                    self._bytes -= dropped
        return body


def _read(engine: Engine) -> Catalog:
    catalog = load_catalog(engine)
    catalog.read_current()
    return catalog


def _settle() -> None:
    # The catalog lives until the next release: keep the collector from walking it again
    # and again (a full collection over it stalls every request). Outside the lock, so
    # requests go on meanwhile.
    gc.collect()
    gc.freeze()
