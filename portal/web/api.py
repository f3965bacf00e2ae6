"""The JSON API under ``/api/v1/``: releases, tables and cells, with filters. Its OpenAPI
schema is served at ``/api/v1/schema/openapi.json`` and describes what each route really
answers: its body, 304 to a matching ``If-None-Match``, 400 and 404 with a JSON reason
(the test suite checks the answers against it with schemathesis). Answers are rendered once
per catalog version and served with ETag and Cache-Control, like the pages. Times are UTC
with their offset (the stores keep naive UTC)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from portal.web.cache import CachedBody
from portal.web.pages.archive import find_release, find_table
from portal.web.query import CHECKS_ITS_OWN_QUERY
from portal.web.state import SiteState
from publishing.catalog import Catalog, ReleaseInfo
from publishing.labels import label
from publishing.opendata import is_coded
from publishing.public_forms import Measures, TableMetadata, measures, table_metadata
from publishing.releases import PublishedTable

JSON = "application/json"
AnyRequest = Request[Any, Any, Any]
VALUES_LISTED = 30  # of a dimension, in the 400 for a value it does not take


class ErrorBody(msgspec.Struct, frozen=True):
    """Why a request was refused."""

    status_code: int
    detail: str


def body_and_errors(body: Any, *statuses: int) -> dict[int, ResponseSpec]:
    """A route's answers: 200 with ``body`` (the handler hands it over encoded once and
    kept, so its return annotation is ``Response[bytes]``), and :func:`error_responses`."""
    ok = ResponseSpec(body, description="The answer.", generate_examples=False)
    return {200: ok, **error_responses(*statuses)}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The answers a route gives besides its body: the errors it raises, as JSON, the 414
    every route gives to an overlong address (:mod:`portal.web.target`), and a 304 to a
    request whose ``If-None-Match`` names the current ETag."""
    reasons = {
        400: "The request is malformed (a parameter the route does not take, one given "
        "twice, or a filter value the table does not have); the detail says what to fix "
        "and lists what exists.",
        404: "No such release or table; the detail lists what exists.",
        414: "The address (path and query string) is longer than the site takes.",
    }
    specs = {
        status: ResponseSpec(ErrorBody, description=reasons[status], generate_examples=False)
        for status in (*statuses, 414)
    }
    return {
        304: ResponseSpec(None, description="Not modified: the ETag given is current."),
        **specs,
    }


class ReleaseNotice(msgspec.Struct, frozen=True, kw_only=True):
    """Why a release no longer stands: superseded by a corrected release, or withdrawn."""

    status: str  # "superseded" or "withdrawn"
    reason: str
    noticed_at: datetime
    replaced_by: str | None


class ReleaseSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A release in a list."""

    id: str
    period: str
    # The release that stands for its period: the latest made that was neither superseded
    # nor withdrawn.
    current: bool
    created_at: datetime
    policy_name: str
    policy_version: int
    rho: float
    epsilon: float
    delta: float
    partial: bool  # the department's data cover only part of the quarter
    url: str
    notice: ReleaseNotice | None = None


class TableSummary(TableMetadata, frozen=True, kw_only=True):
    """A table of a release, without its cells: its public metadata, how many cells it
    has, and where they are."""

    cells: int
    url: str
    csv: str


class ReleaseDetail(msgspec.Struct, frozen=True, kw_only=True):
    """A release: its budget statement, policy and tables."""

    release: ReleaseSummary
    engine_version: str
    policy_sha256: str
    policy_text: str
    budget_statement: dict[str, Any]
    tables: list[TableSummary]


class Cell(Measures, frozen=True, kw_only=True):
    """One published number, as the table's files give it, with its dimension values and
    what each coded value stands for (areas: /areas)."""

    key: dict[str, str]
    labels: dict[str, str]


class TableCells(msgspec.Struct, frozen=True, kw_only=True):
    """A table's cells (all, or those matching the filters)."""

    release_id: str
    period: str
    table: TableSummary
    filters: dict[str, str]
    cells: list[Cell]


def checked_filters(
    request: AnyRequest,
    name: str,
    dimensions: Sequence[str],
    values_of: Callable[[str], Sequence[str]],
) -> dict[str, str]:
    """The query's filters on table ``name``: each a dimension of it, with a value it takes.
    Anything else is a 400 that lists what exists (and, being an error, is never kept)."""
    filters = {k: v for k, v in sorted(request.query_params.items())}
    unknown = sorted(set(filters) - set(dimensions))
    if unknown:
        raise ValidationException(
            f"table {name} cannot be filtered by {', '.join(unknown)}; "
            f"its dimensions are: {', '.join(dimensions)}"
        )
    for dimension, value in filters.items():
        values = values_of(dimension)
        if value not in values:
            listed = ", ".join(values[:VALUES_LISTED])
            more = f" and {len(values) - VALUES_LISTED} more" if len(values) > VALUES_LISTED else ""
            raise ValidationException(
                f"table {name} has no {dimension} {value[:40]!r}; its {dimension} values "
                f"are: {listed}{more}"
            )
    return filters


def cells_of(table: PublishedTable, filters: dict[str, str]) -> list[Cell]:
    """The table's cells that match ``filters``, as the API gives them."""
    cells = []
    for cell in table.where(**filters):
        key = dict(zip(table.dimensions, cell.key, strict=True))
        labels = {d: label(v) for d, v in key.items() if is_coded(d)}
        cells.append(Cell(key=key, labels=labels, **msgspec.structs.asdict(measures(cell))))
    return cells


def _summary(catalog: Catalog, release: ReleaseInfo) -> ReleaseSummary:
    statement = release.budget_statement
    return ReleaseSummary(
        id=release.id,
        period=release.period,
        current=catalog.current.get(release.period) == release,
        created_at=_utc(release.created_at),
        policy_name=release.policy_name,
        policy_version=release.policy_version,
        rho=float(statement["rho"]),
        epsilon=float(statement["epsilon"]),
        delta=float(statement["delta"]),
        partial=release.statement.partial,
        url=f"/api/v1/releases/{release.id}",
        notice=None
        if release.notice is None
        else ReleaseNotice(
            status=release.notice.status,
            reason=release.notice.reason,
            noticed_at=_utc(release.notice.noticed_at),
            replaced_by=release.notice.replaced_by,
        ),
    )


def _table(release: ReleaseInfo, table: PublishedTable) -> TableSummary:
    base = f"/api/v1/releases/{release.id}/tables/{table.name}"
    return TableSummary(
        **msgspec.structs.asdict(table_metadata(table)),
        cells=len(table.cells),
        url=base,
        csv=f"/releases/{release.id}/tables/{table.name}.csv",
    )


def json_body(value: msgspec.Struct | Sequence[msgspec.Struct]) -> bytes:
    """``value`` as the API's JSON (times in UTC with their offset)."""
    return msgspec.json.encode(value)


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC with its offset: stored times are naive UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@get("/releases", sync_to_thread=False, responses=body_and_errors(list[ReleaseSummary], 400))
def list_releases(request: AnyRequest, site: NamedDependency[SiteState]) -> Response[bytes]:
    """Every release, oldest period first; ``current`` marks the one that stands for its
    period."""

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(json_body([_summary(catalog, r) for r in catalog.releases]), JSON)

    return site.cached("api:releases", render).respond(request)


@get(
    "/releases/{release_id:str}",
    sync_to_thread=False,
    responses=body_and_errors(ReleaseDetail, 400, 404),
)
def get_release(
    release_id: FromPath[str], request: AnyRequest, site: NamedDependency[SiteState]
) -> Response[bytes]:
    """A release with its budget statement, policy and tables."""
    release = find_release(site.catalog(), release_id)

    def render(catalog: Catalog) -> CachedBody:
        tables = [_table(release, t) for t in catalog.tables(release.id).values()]
        detail = ReleaseDetail(
            release=_summary(catalog, release),
            engine_version=release.engine_version,
            policy_sha256=release.policy_sha256,
            policy_text=release.policy_text,
            budget_statement=release.budget_statement,
            tables=tables,
        )
        return CachedBody.of(json_body(detail), JSON)

    return site.cached(f"api:release:{release.id}", render).respond(request)


@get(
    "/releases/{release_id:str}/tables",
    sync_to_thread=False,
    responses=body_and_errors(list[TableSummary], 400, 404),
)
def list_tables(
    release_id: FromPath[str], request: AnyRequest, site: NamedDependency[SiteState]
) -> Response[bytes]:
    """A release's tables, without their cells."""
    release = find_release(site.catalog(), release_id)

    def render(catalog: Catalog) -> CachedBody:
        return CachedBody.of(
            json_body([_table(release, t) for t in catalog.tables(release.id).values()]),
            JSON,
            immutable=True,
        )

    return site.cached(f"api:tables:{release.id}", render).respond(request)


@get(
    "/releases/{release_id:str}/tables/{name:str}",
    sync_to_thread=False,
    responses=body_and_errors(TableCells, 400, 404),
    opt={CHECKS_ITS_OWN_QUERY: True},
)
def get_cells(
    release_id: FromPath[str],
    name: FromPath[str],
    request: AnyRequest,
    site: NamedDependency[SiteState],
) -> Response[bytes]:
    """A table's cells. Any of its dimensions may be given as a query parameter to filter
    (``?district=d3&month=2025-07``); a parameter that is not a dimension, or a value the
    dimension does not take, is a 400 that lists what it takes."""
    catalog = site.catalog()
    release = find_release(catalog, release_id)
    table = find_table(catalog, release, name)
    filters = checked_filters(request, name, table.dimensions, table.values_of)

    def render(catalog: Catalog) -> CachedBody:
        cells = cells_of(table, filters)
        return CachedBody.of(
            json_body(
                TableCells(
                    release_id=release.id,
                    period=release.period,
                    table=_table(release, table),
                    filters=filters,
                    cells=cells,
                )
            ),
            JSON,
            immutable=True,
        )

    key = f"api:cells:{release.id}:{name}:{json.dumps(filters)}"
    return site.cached(key, render).respond(request)
