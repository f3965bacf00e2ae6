"""The release archive: every release, a page per release and per table, and its open
data (CSV and JSON per table, a data dictionary, a Frictionless ``datapackage.json``).
Release files never change, so they are served as immutable."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from portal.web.cache import CachedBody
from portal.web.state import SiteState
from publishing import area_list, opendata
from publishing.artifacts import list_artifacts
from publishing.catalog import Catalog, ReleaseInfo
from publishing.definitions import headline_definitions
from publishing.i18n import _
from publishing.releases import PublishedTable

HTML = "text/html"
AnyRequest = Request[Any, Any, Any]


def find_release(catalog: Catalog, release_id: str) -> ReleaseInfo:
    """The release, or a 404 that says where to look."""
    release = catalog.release(release_id)
    if release is None:
        raise NotFoundException(
            _("there is no release {release!r}; see /releases for the list").format(
                release=release_id[:64]
            )
        )
    return release


def find_table(catalog: Catalog, release: ReleaseInfo, name: str) -> PublishedTable:
    """The release's table, or a 404 that lists the tables there are."""
    tables = catalog.tables(release.id)
    if name not in tables:
        raise NotFoundException(
            _("release {release} has no table {name!r}; its tables are: {tables}").format(
                release=release.id[:12], name=name[:64], tables=", ".join(sorted(tables))
            )
        )
    return tables[name]


@get("/releases", sync_to_thread=False)
def releases(request: AnyRequest, site: NamedDependency[SiteState]) -> Response[bytes]:
    """Every release, newest first."""

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(
            site.renderer.page(
                "releases.html",
                title=_("Releases"),
                active="/releases",
                releases=list(reversed(catalog.releases)),
                current=catalog.current,
            ),
            HTML,
        )

    return site.cached("releases", render).respond(request)


@get("/releases/{release_id:str}", sync_to_thread=False)
def release_page(
    release_id: FromPath[str],
    request: AnyRequest,
    site: NamedDependency[SiteState],
) -> Response[bytes]:
    """A release: its policy, budget statement, tables and downloads."""
    release = find_release(site.catalog(), release_id)

    def render(catalog: Catalog) -> CachedBody:
        tables = sorted(
            catalog.tables(release.id).values(),
            key=lambda t: (t.level_of or t.name, t.level_of is not None, t.name),
        )
        return CachedBody.of(
            site.renderer.page(
                "release.html",
                title=_("Release {period}").format(period=release.period),
                active="/releases",
                release=release,
                statement=release.statement,
                tables=tables,
                with_areas=bool(catalog.frozen_areas(release.id)),
                reports=[
                    a
                    for a in list_artifacts(site.engine)
                    if a.release_id == release.id and a.kind == "report"
                ],
            ),
            HTML,
        )

    return site.cached(f"release:{release.id}", render).respond(request)


@get("/releases/{release_id:str}/tables/{name:str}", sync_to_thread=False)
def table_file(
    release_id: FromPath[str],
    name: FromPath[str],
    request: AnyRequest,
    site: NamedDependency[SiteState],
) -> Response[bytes]:
    """A table as a page (``NAME``), as CSV (``NAME.csv``) or as JSON (``NAME.json``)."""
    catalog = site.catalog()
    release = find_release(catalog, release_id)
    base, _dot, suffix = (
        name.rpartition(".") if name.endswith((".csv", ".json")) else (name, "", "")
    )
    table = find_table(catalog, release, base)

    def render(catalog: Catalog) -> CachedBody:
        if suffix == "csv":
            return CachedBody.of(
                opendata.table_csv(release, table),
                "text/csv",
                immutable=True,
                headers=_attachment(release, f"{base}.csv"),
            )
        if suffix == "json":
            return CachedBody.of(
                opendata.table_json(release, table), "application/json", immutable=True
            )
        return CachedBody.of(
            site.renderer.page(
                "table.html",
                title=f"{_(table.title)}, {release.period}",
                active="/releases",
                release=release,
                table=table,
            ),
            HTML,
            immutable=True,
        )

    return site.cached(f"table:{release.id}:{name}", render).respond(request)


@get("/releases/{release_id:str}/datapackage.json", sync_to_thread=False)
def datapackage(
    release_id: FromPath[str], request: AnyRequest, site: NamedDependency[SiteState]
) -> Response[bytes]:
    """The release's Frictionless Data Package descriptor."""
    release = find_release(site.catalog(), release_id)

    def render(catalog: Catalog) -> CachedBody:
        # Resource paths are relative to this file's URL, as the spec says.
        return CachedBody.of(
            opendata.datapackage_json(
                release, catalog.tables(release.id), catalog.frozen_areas(release.id)
            ),
            "application/json",
            immutable=True,
        )

    return site.cached(f"datapackage:{release.id}", render).respond(request)


@get("/releases/{release_id:str}/data-dictionary", sync_to_thread=False)
def dictionary(
    release_id: FromPath[str],
    request: AnyRequest,
    site: NamedDependency[SiteState],
) -> Response[bytes]:
    """What every column of every table means."""
    release = find_release(site.catalog(), release_id)

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(
            site.renderer.page(
                "dictionary.html",
                title=_("Data dictionary, {period}").format(period=release.period),
                active="/releases",
                release=release,
                figures=headline_definitions(catalog, release.period),
                codes=opendata.code_list(catalog.tables(release.id)),
                entries=opendata.data_dictionary(
                    catalog.tables(release.id), dict(release.statement.vocabularies)
                ),
            ),
            HTML,
            immutable=True,
        )

    return site.cached(f"dictionary:{release.id}", render).respond(request)


@get("/releases/{release_id:str}/data-dictionary.csv", sync_to_thread=False)
def dictionary_csv(
    release_id: FromPath[str], request: AnyRequest, site: NamedDependency[SiteState]
) -> Response[bytes]:
    """The data dictionary as CSV."""
    release = find_release(site.catalog(), release_id)

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(
            opendata.data_dictionary_csv(
                catalog.tables(release.id), dict(release.statement.vocabularies)
            ),
            "text/csv",
            immutable=True,
            headers=_attachment(release, "data-dictionary.csv"),
        )

    return site.cached(f"dictionary-csv:{release.id}", render).respond(request)


@get("/releases/{release_id:str}/codes.csv", sync_to_thread=False)
def codes_csv(
    release_id: FromPath[str], request: AnyRequest, site: NamedDependency[SiteState]
) -> Response[bytes]:
    """Every code the release's tables use, with its label, as CSV."""
    release = find_release(site.catalog(), release_id)

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(
            opendata.codes_csv(catalog.tables(release.id)),
            "text/csv",
            immutable=True,
            headers=_attachment(release, "codes.csv"),
        )

    return site.cached(f"codes-csv:{release.id}", render).respond(request)


@get("/releases/{release_id:str}/areas.csv", sync_to_thread=False)
def release_areas_csv(
    release_id: FromPath[str], request: AnyRequest, site: NamedDependency[SiteState]
) -> Response[bytes]:
    """The areas as they stood when the release was written, as CSV (404 for a release
    written before areas were kept with releases)."""
    release = find_release(site.catalog(), release_id)

    def render(catalog: Catalog) -> CachedBody:
        areas = catalog.frozen_areas(release.id)
        if not areas:
            raise NotFoundException(
                _(
                    "release {release} was written before areas were kept with releases; "
                    "the current areas are at /areas.csv"
                ).format(release=release.id[:12])
            )
        return CachedBody.of(
            area_list.areas_csv(areas),
            "text/csv",
            immutable=True,
            headers=_attachment(release, "areas.csv"),
        )

    return site.cached(f"areas-csv:{release.id}", render).respond(request)


def _attachment(release: ReleaseInfo, name: str) -> tuple[tuple[str, str], ...]:
    filename = f"{release.period}-{release.id[:12]}-{name}"
    return (("Content-Disposition", f'attachment; filename="{filename}"'),)
