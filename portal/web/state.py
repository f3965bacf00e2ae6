"""The site's shared state: the public store, its catalog, and the rendered-page cache.

Releases are immutable, so a page is rendered once per catalog version and kept. A watcher
thread checks the catalog's version every ``CATALOG_CHECK_SECONDS``; when a release, an
area or a report is added, it re-reads the catalog and the cache is emptied. Requests never
wait on the database for that: checking from the event loop took 25 to 30 ms under load
(against 0.5 ms idle) and set the site's slowest answers (bench/serve.py).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import Engine

from portal.web.cache import CachedBody
from portal.web.render import Renderer
from publishing.catalog import Catalog, catalog_version, load_catalog

log = logging.getLogger(__name__)

CATALOG_CHECK_SECONDS = 2.0
PAGE_CACHE_SIZE = 1024  # pages and files; valid URLs only, so this bounds memory


class SiteState:
    """What every request shares: the store, the catalog, the page cache and the templates
    (one dependency, so that a handler resolves one thing)."""

    def __init__(self, engine: Engine, renderer: Renderer) -> None:
        self.engine = engine
        self.renderer = renderer
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._cache: OrderedDict[str, CachedBody] = OrderedDict()
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

    def cached(self, key: str, render: Callable[[Catalog], CachedBody]) -> CachedBody:
        """The body cached under ``key`` for the current catalog, rendered on a miss."""
        catalog = self.catalog()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        body = render(catalog)
        with self._lock:
            if self._catalog is catalog:  # not stale meanwhile
                self._cache[key] = body
                while len(self._cache) > PAGE_CACHE_SIZE:
                    self._cache.popitem(last=False)
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
