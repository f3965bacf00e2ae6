"""The site's shared state: the public store, its catalog, and the rendered-page cache.

Releases are immutable, so a page is rendered once per catalog version and kept. The
catalog's version is checked at most every ``CATALOG_CHECK_SECONDS``; when a release or an
area is added, the catalog is re-read and the cache emptied.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import Engine

from portal.web.cache import CachedBody
from portal.web.render import Renderer
from publishing.catalog import Catalog, catalog_version, load_catalog

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
        self._checked = 0.0
        self._cache: OrderedDict[str, CachedBody] = OrderedDict()

    def catalog(self) -> Catalog:
        """The current catalog, re-read when the public store has changed."""
        now = time.monotonic()
        with self._lock:
            if self._catalog is not None and now - self._checked < CATALOG_CHECK_SECONDS:
                return self._catalog
            self._checked = now
            if self._catalog is None or catalog_version(self.engine) != self._catalog.version:
                self._catalog = load_catalog(self.engine)
                self._catalog.read_current()
                self._cache.clear()
                # The catalog lives until the next release: keep the collector from walking
                # it again and again (a full collection over it stalls every request).
                gc.collect()
                gc.freeze()
            return self._catalog

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
