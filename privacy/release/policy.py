"""The privacy policy: who is protected, how much budget a period may spend, which tables.

A policy is a TOML file, versioned and stored with every release. Shipped policies live in
``privacy/policies/NAME.toml`` and are found by name, like mappings. Its keys and their types
are declared in :mod:`privacy.release.policy_schema`; this module checks what only code can.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from privacy.release.policy_schema import (
    BudgetDocument,
    LevelDocument,
    PolicyDocument,
    TableDocument,
    UnitDocument,
)
from privacy.schema import FieldType, fields_of
from privacy.shipped import resolve_toml, shipped_names
from publishing.documents import read_document
from publishing.vocabularies import FAMILIES, group_codes

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "policies"
TIME_DIMENSIONS = ("month", "quarter")
AREA_DIMENSIONS = ("beat", "district")
SOURCES = ("stops", "incidents", "force")
MECHANISMS = ("gaussian", "laplace")
WEIGHT_TOLERANCE = 1e-9
HORIZONS = ("year", "portal")


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
            return (
                "one record (a stop, an incident or a use of force); a person with several "
                "records is protected less, since the loss of each of their records adds up"
            )
        return (
            f"one person (by person_key), counted at most {self.max_records_per_cell} "
            f"time(s) in a cell and in at most {self.max_cells} cell(s) of a table; a record "
            "without a person key (every incident) counts as a person of its own"
        )


Currency = Literal["rho", "epsilon"]
Horizon = Literal["year", "portal"]


@dataclass(frozen=True)
class Budget:
    """The budget of one period, in the policy's own currency: zCDP rho (Gaussian noise;
    rhos add up) or pure-DP epsilon (Laplace noise; epsilons add up). A person-unit policy
    also caps what every release within a ``horizon`` spends together: a calendar year, or
    the whole life of the portal."""

    mechanism: Literal["gaussian", "laplace"]
    rho: float  # zCDP; for a pure-DP policy, the rho its epsilon implies (epsilon^2 / 2)
    epsilon: float | None  # pure DP only
    delta: float  # the delta at which (epsilon, delta) is shown to people
    horizon: Horizon | None = None  # person unit only
    horizon_cap: float | None = None  # in the budget's currency
    # The part of the period's budget one release spends; the rest stays for a correction
    # (a release built again to supersede one already published).
    share: float = 1.0

    @property
    def currency(self) -> Currency:
        """What the ledger counts this budget in: epsilons for pure DP, rhos for zCDP."""
        return "epsilon" if self.mechanism == "laplace" else "rho"

    @property
    def cap(self) -> float:
        """A period's budget in :attr:`currency`."""
        if self.mechanism == "laplace":
            assert self.epsilon is not None
            return self.epsilon
        return self.rho

    def horizon_account(self, year: int) -> str | None:
        """The ledger's name for the horizon a period of ``year`` falls in, if any."""
        if self.horizon is None:
            return None
        return f"year {year}" if self.horizon == "year" else "portal"


@dataclass(frozen=True)
class LevelSpec:
    """A coarser level of a table (months to the quarter, beats to districts, a category
    dropped), measured separately so that post-processing can make the levels agree and
    the totals more accurate than the sum of noisy cells."""

    name: str
    title: str
    dimensions: tuple[str, ...]
    fraction: float  # of its table's weight


@dataclass(frozen=True)
class TableSpec:
    """One published table: counts of ``source`` records by ``dimensions``, measured at its
    own grain and at each of its ``levels`` (each a roll-up of the one before)."""

    name: str
    title: str
    source: str
    dimensions: tuple[str, ...]
    where: tuple[tuple[str, tuple[str, ...]], ...]  # field -> codes a record must have
    weight: float  # this table's share of the period's budget, levels included
    levels: tuple[LevelSpec, ...] = ()
    # The vocabulary each coded field is counted in, where the department declares one
    # other than the default (filled in from the department profile at release time).
    vocabularies: tuple[tuple[str, str], ...] = ()

    def codes_of(self, field_name: str) -> tuple[str, ...]:
        """The codes of a coded field in the vocabulary this table counts it in."""
        target = next(f for f in fields_of(self.source) if f.name == field_name)
        chosen = dict(self.vocabularies).get(field_name)
        return target.vocabulary if chosen is None else target.using(chosen).vocabulary

    @property
    def time_dimension(self) -> str | None:
        """``month`` or ``quarter``, if the table has one."""
        return next((d for d in self.dimensions if d in TIME_DIMENSIONS), None)

    @property
    def population(self) -> tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]:
        """Which records the table counts: its source and filters."""
        return self.source, self.where

    def meanings(self) -> tuple[tuple[str, ...], ...]:
        """What each dimension of each part means: the same names, except that a district
        rolled up from beats is ``district<beat`` (a beat's district, which can differ
        from the district recorded on the record)."""
        dimensions = [self.dimensions, *(level.dimensions for level in self.levels)]
        chain = [self.dimensions]
        for finer, coarser in itertools.pairwise(dimensions):
            meaning = dict(zip(finer, chain[-1], strict=True))
            chain.append(
                tuple(meaning.get(d, "district<beat" if d == "district" else d) for d in coarser)
            )
        return tuple(chain)

    def parts(self) -> tuple[PartSpec, ...]:
        """The table's own cells first, then each level in order."""
        own = 1.0 - math.fsum(level.fraction for level in self.levels)
        return (
            PartSpec(self.name, self.title, self, self.dimensions, self.weight * own, 0),
            *(
                PartSpec(
                    level.name,
                    level.title,
                    self,
                    level.dimensions,
                    self.weight * level.fraction,
                    depth,
                )
                for depth, level in enumerate(self.levels, start=1)
            ),
        )


@dataclass(frozen=True)
class PartSpec:
    """One measured, published table: a policy table's own grain (depth 0) or one of its
    levels. ``weight`` is its share of the period's budget."""

    name: str
    title: str
    table: TableSpec
    dimensions: tuple[str, ...]
    weight: float  # 0 for a level that is not measured, only added up to
    depth: int

    @property
    def measured(self) -> bool:
        """Whether noise is drawn for it (a level of weight 0 is a constraint only)."""
        return self.weight > 0

    @property
    def source(self) -> str:
        """The records counted."""
        return self.table.source


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

    def parts(self) -> tuple[PartSpec, ...]:
        """Every measured table, levels included, in policy order."""
        return tuple(part for table in self.tables for part in table.parts())

    def table(self, name: str) -> TableSpec:
        """The table called ``name``, or a PolicyError naming the tables there are."""
        for table in self.tables:
            if table.name == name:
                return table
        raise PolicyError(
            f"policy {self.name!r} has no table {name!r}; its tables are: "
            + ", ".join(t.name for t in self.tables)
        )


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a shipped policy by name (``quarterly``) or a policy file by path."""
    path = resolve_toml(name_or_path, SHIPPED_DIR)
    if path is None:
        raise PolicyError(
            f"no policy named {name_or_path!r}; shipped policies are: "
            f"{', '.join(shipped_names(SHIPPED_DIR))} (or pass the path of a "
            ".toml file)"
        )
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
    declared = read_document(document, PolicyDocument, fail)
    name, version = declared.name, declared.version
    if not name.strip():
        raise fail("'name' is required and must be a non-empty string")
    if version < 1:
        raise fail("'version' must be a positive integer")
    if declared.period != "quarter":
        raise fail("'period' must be \"quarter\" (the only budget period supported)")
    tables = tuple(_parse_table(table, fail) for table in declared.tables)
    if not tables:
        raise fail("a policy needs at least one [[tables]] entry")
    names = [part.name for t in tables for part in t.parts()]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise fail(f"table and level names must be unique: {repeated}")
    unit = _parse_unit(declared.unit, fail)
    if unit.kind == "record":  # a person unit's tables are each bounded on their own
        _check_nesting(tables, fail)
    budget = _parse_budget(declared.budget, unit, fail)
    _check_weights(tables, unit, fail)
    return Policy(
        name=name,
        version=version,
        description=declared.description,
        period="quarter",
        unit=unit,
        budget=budget,
        tables=tables,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def _check_weights(tables: tuple[TableSpec, ...], unit: PrivacyUnit, fail: Any) -> None:
    """Under the record unit no record is of two sources, so each source's tables share the
    whole budget (parallel composition) and their weights add up to 1 per source; under the
    person unit one person may appear in several sources, so all weights add up to 1."""
    if unit.kind == "person":
        total = math.fsum(t.weight for t in tables)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise fail(
                f"the tables' weights add up to {total:g}, not 1; under a person unit each "
                "weight is that table's share of the period's budget"
            )
        return
    for source in SOURCES:
        total = math.fsum(t.weight for t in tables if t.source == source)
        if total and abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise fail(
                f"the {source} tables' weights add up to {total:g}, not 1; under the record "
                f"unit each weight is that table's share of its source's budget (no record "
                "is of two sources, so each source may spend the period's whole budget)"
            )


def _parse_unit(raw: UnitDocument, fail: Any) -> PrivacyUnit:
    if raw.kind == "record":
        return PrivacyUnit("record")
    if raw.kind != "person":
        raise fail(f'[unit] kind must be "record" or "person", not {raw.kind!r}')
    bounds = []
    for key, value in (
        ("max_records_per_cell", raw.max_records_per_cell),
        ("max_cells", raw.max_cells),
    ):
        if value is None or value < 1:
            raise fail(f"[unit] a person unit needs {key} = a positive integer")
        bounds.append(value)
    return PrivacyUnit("person", bounds[0], bounds[1])


def _parse_budget(raw: BudgetDocument | None, unit: PrivacyUnit, fail: Any) -> Budget:
    if raw is None:
        raise fail(
            "[budget] is required: rho (zCDP per period) and delta, or epsilon for "
            'mechanism = "laplace"'
        )
    period = _parse_period_budget(raw, fail)
    horizon, horizon_cap = _parse_horizon(raw, period, unit, fail)
    if not 0 < raw.share <= 1:
        raise fail(
            f"[budget] share must be above 0 and at most 1, not {raw.share!r}: the part of "
            "the period's budget each release spends (0.5 keeps half for one correction)"
        )
    return Budget(
        period.mechanism,
        rho=period.rho,
        epsilon=period.epsilon,
        delta=period.delta,
        horizon=horizon,
        horizon_cap=horizon_cap,
        share=float(raw.share),
    )


def _parse_horizon(
    raw: BudgetDocument, period: Budget, unit: PrivacyUnit, fail: Any
) -> tuple[Horizon | None, float | None]:
    """A person's records fall in many periods, so a person-unit policy must cap what they
    all spend together; a record falls in one period only, so its period is its horizon."""
    key = f"horizon_{period.currency}"
    other = "horizon_rho" if key == "horizon_epsilon" else "horizon_epsilon"
    caps = {"horizon_rho": raw.horizon_rho, "horizon_epsilon": raw.horizon_epsilon}
    if caps[other] is not None:
        raise fail(f"[budget] a {period.mechanism} budget counts in {period.currency}: use {key}")
    if unit.kind == "record":
        if raw.horizon is not None or caps[key] is not None:
            raise fail(
                "[budget] horizon is for a person unit: under the record unit every record "
                "falls in one quarter, so the quarter's budget is all any record ever spends"
            )
        return None, None
    horizon = raw.horizon
    if horizon not in HORIZONS:
        raise fail(
            '[budget] a person unit needs horizon = "year" (a calendar year) or "portal" '
            f"(the life of the portal) and {key}, the most that every release in the horizon "
            "may spend together: a person's records fall in many quarters, and their losses "
            "add up"
        )
    cap = caps[key]
    if cap is None or not math.isfinite(cap) or cap < period.cap:
        raise fail(
            f"[budget] {key} must be a number at least the quarter's {period.currency} "
            f"({period.cap:g}): the most that every release in one {horizon} may spend together"
        )
    return cast(Horizon, horizon), float(cap)


def _parse_period_budget(raw: BudgetDocument, fail: Any) -> Budget:
    mechanism = raw.mechanism
    if mechanism not in MECHANISMS:
        raise fail(f"[budget] mechanism must be one of {', '.join(MECHANISMS)}")
    delta = raw.delta
    if not 0 < delta < 1:
        raise fail("[budget] delta must be a number between 0 and 1 (exclusive)")
    if mechanism == "laplace":
        epsilon = raw.epsilon
        if epsilon is None or not epsilon > 0 or math.isinf(epsilon):
            raise fail("[budget] a laplace (pure DP) budget needs epsilon > 0")
        return Budget("laplace", rho=epsilon**2 / 2, epsilon=float(epsilon), delta=float(delta))
    rho = raw.rho
    if rho is None or not rho > 0 or math.isinf(rho):
        raise fail(f"[budget] rho must be a positive number, not {rho!r}")
    return Budget("gaussian", rho=float(rho), epsilon=None, delta=float(delta))


def _parse_table(raw: TableDocument, fail: Any) -> TableSpec:
    name = raw.name
    where = f"[[tables]] {name!r}"
    if not name.isidentifier():
        raise fail(f"{where}: 'name' must be an identifier (letters, digits, _)")
    source = raw.source
    if source not in SOURCES:
        raise fail(f"{where}: source must be one of {', '.join(SOURCES)}, not {source!r}")
    categories = {f.name: f.stored_codes for f in fields_of(source) if f.type is FieldType.CATEGORY}
    allowed = (*TIME_DIMENSIONS, *AREA_DIMENSIONS, *categories)
    dimensions = raw.dimensions
    if not dimensions:
        raise fail(f"{where}: 'dimensions' must be a non-empty list")
    for dimension in dimensions:
        if dimension not in allowed:
            raise fail(
                f"{where}: unknown dimension {dimension!r}; a {source} table can use: "
                + ", ".join(allowed)
            )
    if sum(d in TIME_DIMENSIONS for d in dimensions) != 1:
        raise fail(f"{where}: exactly one time dimension is needed (month or quarter)")
    if sum(d in AREA_DIMENSIONS for d in dimensions) > 1 or len(set(dimensions)) != len(dimensions):
        raise fail(f"{where}: dimensions may not repeat, and only one of beat or district")
    parsed_filters = []
    for field, codes in raw.where.items():
        if field not in categories:
            raise fail(
                f"{where}: cannot filter on {field!r}; categorical fields of {source}: "
                + ", ".join(categories)
            )
        codes = [codes] if isinstance(codes, str) else codes
        # A named group ("no_enforcement") stands for its codes in every vocabulary of the
        # field: a department's records hold the codes of its own vocabulary only.
        named = [
            code
            for name in codes
            for code in (group_codes(field, name) or (name,) if isinstance(name, str) else (name,))
        ]
        bad = [c for c in named if c not in categories[field]]
        if bad or not named:
            family = FAMILIES.get(field, ())
            listed = (
                "; ".join(f"{v.name}: {', '.join(v.codes)}" for v in family)
                if family
                else ", ".join(categories[field])
            )
            groups = sorted({g for v in family for g in v.groups})
            raise fail(
                f"{where}: where.{field} codes {bad or codes} are not in its vocabulary "
                f"({listed})" + (f" nor one of its groups ({', '.join(groups)})" if groups else "")
            )
        parsed_filters.append((field, tuple(dict.fromkeys(named))))
    weight = raw.weight
    if not weight > 0:
        raise fail(f"{where}: weight must be a positive number (its share of the budget)")
    levels = _parse_levels(raw.levels, name, tuple(dimensions), allowed, fail)
    return TableSpec(
        name=name,
        title=raw.title if raw.title is not None else name,
        source=source,
        dimensions=tuple(dimensions),
        where=tuple(parsed_filters),
        weight=float(weight),
        levels=levels,
    )


def _check_nesting(tables: tuple[TableSpec, ...], fail: Any) -> None:
    """Tables that count the same records share the levels they have in common, so a level
    must roll up into the same next level in every table that has it."""
    above: dict[tuple[Any, tuple[str, ...]], tuple[tuple[str, ...] | None, str]] = {}
    for table in tables:
        chain = table.meanings()
        for i, meaning in enumerate(chain):
            up = chain[i + 1] if i + 1 < len(chain) else None
            key = (table.population, meaning)
            seen = above.setdefault(key, (up, table.name))
            if up is not None and seen[0] is not None and seen[0] != up:
                raise fail(
                    f"tables {seen[1]!r} and {table.name!r} both have the level "
                    f"{list(meaning)} but roll it up differently ({list(seen[0])} and "
                    f"{list(up)}); a count can add up into one parent only"
                )
            if seen[0] is None and up is not None:
                above[key] = (up, table.name)


# What a dimension may roll up into at the next level (or it may be dropped).
_ROLL_UPS = {"month": "quarter", "beat": "district"}


def rolls_up(finer: tuple[str, ...], coarser: tuple[str, ...]) -> bool:
    """Whether every cell of ``finer`` falls in exactly one cell of ``coarser``."""
    reachable = set(finer) | {_ROLL_UPS[d] for d in finer if d in _ROLL_UPS}
    return set(coarser) <= reachable and set(coarser) != set(finer)


def _parse_levels(
    raw: list[LevelDocument],
    table: str,
    dimensions: tuple[str, ...],
    allowed: tuple[str, ...],
    fail: Any,
) -> tuple[LevelSpec, ...]:
    where = f"[[tables]] {table!r}"
    levels: list[LevelSpec] = []
    finer = dimensions
    for index, entry in enumerate(raw, start=1):
        coarser = entry.dimensions
        if not all(d in allowed for d in coarser):
            raise fail(
                f"{where}: level {index} needs 'dimensions', a list from: " + ", ".join(allowed)
            )
        if sum(d in TIME_DIMENSIONS for d in coarser) != 1 or len(set(coarser)) != len(coarser):
            raise fail(f"{where}: level {index} needs exactly one time dimension and no repeats")
        if not rolls_up(finer, tuple(coarser)):
            raise fail(
                f"{where}: level {index} {coarser} is not a roll-up of {list(finer)}: "
                "each level keeps, drops or rolls up (month to quarter, beat to "
                "district) the dimensions of the level before it"
            )
        fraction = entry.weight
        if not 0 <= fraction < 1:
            raise fail(
                f"{where}: level {index} weight must be a number from 0 to 1 (its "
                "share of the table's weight; 0 adds the table up to a level another "
                "table measures, without measuring it)"
            )
        name = entry.name if entry.name is not None else f"{table}__{'_'.join(coarser)}"
        if not name.isidentifier():
            raise fail(f"{where}: level {index} 'name' must be an identifier")
        title = entry.title if entry.title is not None else name
        levels.append(LevelSpec(name, title, tuple(coarser), float(fraction)))
        finer = tuple(coarser)
    share = math.fsum(level.fraction for level in levels)
    if levels and not share < 1 - WEIGHT_TOLERANCE:
        raise fail(
            f"{where}: the levels' weights add up to {share:g}; they must leave the "
            "table's own cells a share (add up to less than 1)"
        )
    return tuple(levels)
