"""The privacy policy: who is protected, how much budget a period may spend, which tables.

A policy is a TOML file, versioned and stored with every release. Shipped policies live in
``privacy/policies/NAME.toml`` and are found by name, like mappings.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from privacy.schema import FieldType, fields_of
from privacy.shipped import resolve_toml, shipped_names

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "policies"
TIME_DIMENSIONS = ("month", "quarter")
AREA_DIMENSIONS = ("beat", "district")
SOURCES = ("stops", "incidents", "force")
MECHANISMS = ("gaussian", "laplace")
WEIGHT_TOLERANCE = 1e-9
_TOP_KEYS = {"name", "version", "description", "period", "unit", "budget", "tables"}
_TABLE_KEYS = {"name", "title", "source", "dimensions", "where", "weight"}


class PolicyError(ValueError):
    """A policy that cannot be used, with a message that says what to fix."""


@dataclass(frozen=True)
class PrivacyUnit:
    """Whom the guarantee protects: one record, or one person with bounded contributions."""

    kind: Literal["record", "person"]
    max_records_per_cell: int = 1  # c: a person's records counted in any one cell
    max_cells: int = 1  # g: cells of one table a person may appear in

    def describe(self) -> str:
        """The unit in words, for the budget statement."""
        if self.kind == "record":
            return "one record (a stop, an incident or a use of force)"
        return (f"one person (by person_key), counted at most {self.max_records_per_cell} "
                f"time(s) in a cell and in at most {self.max_cells} cell(s) of a table")


@dataclass(frozen=True)
class Budget:
    """The budget of one period: zCDP rho (Gaussian) or pure epsilon (Laplace)."""

    mechanism: Literal["gaussian", "laplace"]
    rho: float  # zCDP; for a pure-DP policy, the rho its epsilon implies (epsilon^2 / 2)
    epsilon: float | None  # pure DP only
    delta: float  # the delta at which (epsilon, delta) is shown to people


@dataclass(frozen=True)
class TableSpec:
    """One published table: counts of ``source`` records by ``dimensions``."""

    name: str
    title: str
    source: str
    dimensions: tuple[str, ...]
    where: tuple[tuple[str, tuple[str, ...]], ...]  # field -> codes a record must have
    weight: float  # this table's share of the period's budget

    @property
    def time_dimension(self) -> str | None:
        """``month`` or ``quarter``, if the table has one."""
        return next((d for d in self.dimensions if d in TIME_DIMENSIONS), None)


@dataclass(frozen=True)
class Policy:
    """A validated policy."""

    name: str
    version: int
    description: str
    period: Literal["quarter"]
    unit: PrivacyUnit
    budget: Budget
    tables: tuple[TableSpec, ...]
    text: str  # the file as written, stored with each release
    sha256: str

    def table(self, name: str) -> TableSpec:
        """The table called ``name``, or a PolicyError naming the tables there are."""
        for table in self.tables:
            if table.name == name:
                return table
        raise PolicyError(f"policy {self.name!r} has no table {name!r}; its tables are: "
                          + ", ".join(t.name for t in self.tables))


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a shipped policy by name (``quarterly``) or a policy file by path."""
    path = resolve_toml(name_or_path, SHIPPED_DIR)
    if path is None:
        raise PolicyError(f"no policy named {name_or_path!r}; shipped policies are: "
                          f"{', '.join(shipped_names(SHIPPED_DIR))} (or pass the path of a "
                          ".toml file)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError(f"cannot read policy file {path}: {error}") from None
    return parse_policy(text, origin=str(path))


def parse_policy(text: str, *, origin: str = "<policy>") -> Policy:
    """Validate a policy's TOML text and turn it into a :class:`Policy`."""

    def fail(message: str) -> PolicyError:
        return PolicyError(f"{origin}: {message}")

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise fail(f"not valid TOML: {error}") from None
    unknown = set(document) - _TOP_KEYS
    if unknown:
        raise fail(f"unknown top-level keys {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("'name' is required and must be a non-empty string")
    version = document.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise fail("'version' must be a positive integer")
    if document.get("period", "quarter") != "quarter":
        raise fail("'period' must be \"quarter\" (the only budget period supported)")
    tables = tuple(_parse_table(raw, fail) for raw in document.get("tables", []))
    if not tables:
        raise fail("a policy needs at least one [[tables]] entry")
    names = [t.name for t in tables]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise fail(f"table names must be unique: {repeated}")
    total = math.fsum(t.weight for t in tables)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise fail(f"the tables' weights add up to {total:g}, not 1; each weight is that "
                   "table's share of the period's budget")
    return Policy(
        name=name, version=version, description=str(document.get("description", "")),
        period="quarter", unit=_parse_unit(document.get("unit", {}), fail),
        budget=_parse_budget(document.get("budget"), fail), tables=tables, text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _parse_unit(raw: Any, fail: Any) -> PrivacyUnit:
    if not isinstance(raw, dict):
        raise fail("[unit] must be a table")
    kind = raw.get("kind", "record")
    if kind == "record":
        return PrivacyUnit("record")
    if kind != "person":
        raise fail(f"[unit] kind must be \"record\" or \"person\", not {kind!r}")
    bounds = []
    for key in ("max_records_per_cell", "max_cells"):
        value = raw.get(key)
        if not isinstance(value, int) or value < 1:
            raise fail(f"[unit] a person unit needs {key} = a positive integer")
        bounds.append(value)
    return PrivacyUnit("person", bounds[0], bounds[1])


def _parse_budget(raw: Any, fail: Any) -> Budget:
    if not isinstance(raw, dict):
        raise fail("[budget] is required: rho (zCDP per period) and delta, or epsilon for "
                   "mechanism = \"laplace\"")
    mechanism = raw.get("mechanism", "gaussian")
    if mechanism not in MECHANISMS:
        raise fail(f"[budget] mechanism must be one of {', '.join(MECHANISMS)}")
    delta = raw.get("delta", 1e-7)
    if not isinstance(delta, int | float) or not 0 < delta < 1:
        raise fail("[budget] delta must be a number between 0 and 1 (exclusive)")
    if mechanism == "laplace":
        epsilon = raw.get("epsilon")
        if not isinstance(epsilon, int | float) or not epsilon > 0 or math.isinf(epsilon):
            raise fail("[budget] a laplace (pure DP) budget needs epsilon > 0")
        return Budget("laplace", rho=epsilon**2 / 2, epsilon=float(epsilon), delta=float(delta))
    rho = raw.get("rho")
    if not isinstance(rho, int | float) or not rho > 0 or math.isinf(rho):
        raise fail(f"[budget] rho must be a positive number, not {rho!r}")
    return Budget("gaussian", rho=float(rho), epsilon=None, delta=float(delta))


def _parse_table(raw: Any, fail: Any) -> TableSpec:
    if not isinstance(raw, dict):
        raise fail("each [[tables]] entry must be a table")
    name = raw.get("name")
    where = f"[[tables]] {name!r}"
    if not isinstance(name, str) or not name.isidentifier():
        raise fail(f"{where}: 'name' must be an identifier (letters, digits, _)")
    unknown = set(raw) - _TABLE_KEYS
    if unknown:
        raise fail(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_TABLE_KEYS)}")
    source = raw.get("source")
    if source not in SOURCES:
        raise fail(f"{where}: source must be one of {', '.join(SOURCES)}, not {source!r}")
    categories = {f.name: f.vocabulary for f in fields_of(source)
                  if f.type is FieldType.CATEGORY}
    allowed = (*TIME_DIMENSIONS, *AREA_DIMENSIONS, *categories)
    dimensions = raw.get("dimensions")
    if not isinstance(dimensions, list) or not dimensions:
        raise fail(f"{where}: 'dimensions' must be a non-empty list")
    for dimension in dimensions:
        if dimension not in allowed:
            raise fail(f"{where}: unknown dimension {dimension!r}; a {source} table can use: "
                       + ", ".join(allowed))
    if sum(d in TIME_DIMENSIONS for d in dimensions) != 1:
        raise fail(f"{where}: exactly one time dimension is needed (month or quarter)")
    if sum(d in AREA_DIMENSIONS for d in dimensions) > 1 or len(set(dimensions)) != len(
            dimensions):
        raise fail(f"{where}: dimensions may not repeat, and only one of beat or district")
    filters = raw.get("where", {})
    if not isinstance(filters, dict):
        raise fail(f"{where}: 'where' must be a table of field = [codes]")
    parsed_filters = []
    for field, codes in filters.items():
        if field not in categories:
            raise fail(f"{where}: cannot filter on {field!r}; categorical fields of {source}: "
                       + ", ".join(categories))
        codes = [codes] if isinstance(codes, str) else codes
        bad = [c for c in codes if c not in categories[field]]
        if bad or not codes:
            raise fail(f"{where}: where.{field} codes {bad or codes} are not in its vocabulary "
                       + "(" + ", ".join(categories[field]) + ")")
        parsed_filters.append((field, tuple(codes)))
    weight = raw.get("weight")
    if not isinstance(weight, int | float) or not weight > 0:
        raise fail(f"{where}: weight must be a positive number (its share of the budget)")
    return TableSpec(name=name, title=str(raw.get("title", name)), source=source,
                     dimensions=tuple(dimensions), where=tuple(parsed_filters),
                     weight=float(weight))
