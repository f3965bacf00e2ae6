"""The public forms of a release's parts as the files and the API give them: a table's
metadata, a cell's measures, a declared area.

One typed structure and one function each, so a number reads the same in a table's JSON
file, its CSV, the API and the GeoJSON: the API's answers extend these structures with
their links instead of copying their fields.
"""

from __future__ import annotations

import msgspec

from publishing.catalog import AreaInfo
from publishing.releases import PublishedCell, PublishedTable

SIGNIFICANT_DIGITS = 6  # of a standard error or an unbiased estimate, in every file


class TableMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """A table of a release without its cells: what it counts and how it was noised."""

    name: str
    title: str
    source: str
    dimensions: list[str]
    level_of: str | None  # the table it is a coarser level of, if it is one
    mechanism: str
    noise_scale: float
    rho: float
    epsilon: float
    delta: float


class Measures(msgspec.Struct, frozen=True, kw_only=True):
    """One published number: its value and 95% interval, and the unbiased estimate it was
    rounded from with its standard error (add the estimates, not the values, for totals;
    both null where the release did not keep them)."""

    value: int
    ci_low: int
    ci_high: int
    std_error: float | None
    estimate: float | None


class AreaRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A declared area: the name and parent of a code the tables use."""

    code: str
    level: str
    name: str
    parent_code: str | None
    population: int | None
    population_by_race: dict[str, int]  # residents by race or ethnic group, where declared


def table_metadata(table: PublishedTable) -> TableMetadata:
    """``table``'s public metadata."""
    return TableMetadata(
        name=table.name,
        title=table.title,
        source=table.source,
        dimensions=list(table.dimensions),
        level_of=table.level_of,
        mechanism=table.mechanism,
        noise_scale=table.noise_scale,
        rho=table.rho,
        epsilon=table.epsilon,
        delta=table.delta,
    )


def rounded(number: float | None) -> float | None:
    """``number`` to :data:`SIGNIFICANT_DIGITS` significant digits (None stays None)."""
    return None if number is None else float(f"{number:.{SIGNIFICANT_DIGITS}g}")


def measures(cell: PublishedCell) -> Measures:
    """``cell``'s public measures."""
    return Measures(
        value=cell.value,
        ci_low=cell.ci_low,
        ci_high=cell.ci_high,
        std_error=rounded(cell.std_error),
        estimate=rounded(cell.estimate),
    )


def area_record(area: AreaInfo) -> AreaRecord:
    """``area``'s public record (the API's and the GeoJSON's properties)."""
    return AreaRecord(
        code=area.code,
        level=area.level,
        name=area.name,
        parent_code=area.parent,
        population=area.population,
        population_by_race=area.population_by_race,
    )
