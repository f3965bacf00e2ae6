"""The release engine's promises, end to end: budgets counted in the policy's currency, no
decision about publishing read off the records, one release per period and policy under
concurrency, and a charge or a report that went missing is named with what to do."""

from __future__ import annotations

import json
import multiprocessing
import re
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select

import privacy.release.build as build_module
from portal.cli import cli
from portal.settings import Settings
from portal.stores import internal_engine, public_engine, upgrade_stores
from privacy.ingest import ingest_file, load_mapping
from privacy.release.build import ReleaseRefused, build_release
from privacy.release.intervals import IN_PROCESS
from privacy.release.ledger import BudgetExceeded, ChargeRefused, period_budgets
from privacy.release.periods import Quarter
from privacy.release.policy import Policy, parse_policy
from privacy.store.models import BudgetCharge, IntervalCalibration, Stop
from publishing.models import Release
from publishing.releases import read_release
from tests.canonical import AREAS_HEADER, small_city_rows, write_csv
from tests.conftest import POSTGRES_URL, _drop_databases, _postgres_databases

TWO_TABLES = """
name = "small"
[budget]
rho = 0.5
[[tables]]
name = "stops_by_month_beat"
source = "stops"
dimensions = ["month", "beat"]
weight = 0.6
[[tables.levels]]
dimensions = ["quarter"]
weight = 0.3
[[tables]]
name = "searches_by_race"
source = "stops"
dimensions = ["quarter", "district", "subject_race"]
where = { search_conducted = ["yes"] }
weight = 0.4
"""
# The finding: epsilon = 1 a quarter, shared by five tables of weight 0.2.
FIVE_PURE_DP_TABLES = """
name = "pure"
[budget]
mechanism = "laplace"
epsilon = 1.0
""" + "".join(
    f"""
[[tables]]
name = "t{n}"
source = "stops"
dimensions = ["quarter", "district"]
weight = 0.2
"""
    for n in range(5)
)
PERSON_YEAR = """
name = "people"
[unit]
kind = "person"
max_records_per_cell = 1
max_cells = 2
[budget]
rho = 0.25
horizon = "year"
horizon_rho = 0.6
[[tables]]
name = "stops_by_beat"
source = "stops"
dimensions = ["quarter", "beat"]
weight = 1.0
"""


def stop(n: int, when: datetime, **overrides: Any) -> dict[str, Any]:
    """One stop as the internal store holds it."""
    record = {
        "source": "test",
        "source_id": f"s{n}",
        "batch_id": 1,
        "occurred_at": when,
        "district": "d1",
        "beat": "d1b1",
        "stop_type": "vehicular",
        "reason": "other",
        "subject_race": "black",
        "subject_sex": "male",
        "subject_age_band": "unknown",
        "frisk_performed": "no",
        "search_conducted": "yes" if n % 3 == 0 else "no",
        "contraband_found": "no",
        "outcome": "none",
        "use_of_force": "no",
        "person_key": f"p{n % 5}",
        "officer_key": None,
        "lat": None,
        "lng": None,
    }
    return record | overrides


def add_stops(internal: Engine, records: list[dict[str, Any]]) -> None:
    if records:
        with internal.begin() as connection:
            connection.execute(insert(Stop), records)


BASE = [stop(n, datetime(2024, 7 + n % 3, 1 + n % 27, 10)) for n in range(60)]


def declare_areas(internal: Engine, public: Engine, folder: Path) -> None:
    path = write_csv(folder / "areas.csv", AREAS_HEADER, small_city_rows())
    ingest_file(internal, public, "areas", path, load_mapping("synthetic-areas"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[list[tuple[Engine, Engine]]]:
    """Two independent (internal, public) store pairs with the same declared areas and the
    same 60 stops in 2024Q3: room for a data set and its neighbour."""
    pairs, names = [], []
    for n in range(2):
        if request.param == "sqlite":
            settings = Settings.for_directory(tmp_path / f"stores{n}")
        else:
            request.getfixturevalue("postgres_server")
            made, urls = _postgres_databases(POSTGRES_URL)
            names += made
            settings = Settings(data_dir=tmp_path, internal_db_url=urls[0], public_db_url=urls[1])
        upgrade_stores(settings)
        internal, public = internal_engine(settings), public_engine(settings)
        declare_areas(internal, public, tmp_path)
        add_stops(internal, BASE)
        pairs.append((internal, public))
    try:
        yield pairs
    finally:
        for internal, public in pairs:
            internal.dispose()
            public.dispose()
        if names:
            _drop_databases(POSTGRES_URL, names)


def charges(internal: Engine) -> list[tuple[str, str, float, float]]:
    with internal.connect() as connection:
        rows = connection.execute(
            select(
                BudgetCharge.table_name,
                BudgetCharge.source,
                BudgetCharge.noise_scale,
                BudgetCharge.rho,
            ).order_by(BudgetCharge.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def decisions(internal: Engine, public: Engine, period: str, policy: Policy) -> dict[str, Any]:
    """Everything the engine decides about a release of ``period``, without its noise:
    whether it was published (or the refusal), which tables and cells, what each table's
    noise and cost were, the budget statement and the shape behind the intervals."""
    IN_PROCESS.clear()  # each store as a new process would see it
    try:
        built = build_release(internal, public, period, policy)
    except (ReleaseRefused, ChargeRefused) as refused:
        return {"refused": type(refused).__name__ + ": " + _without_keys(str(refused))}
    release = read_release(public, built.release_id)
    assert release is not None
    statement = dict(release.budget_statement)
    with internal.connect() as connection:
        calibrations = connection.execute(select(IntervalCalibration.key)).scalars().all()
    return {
        "refused": None,
        "tables": [(t.name, t.noise_scale, [c.key for c in t.cells]) for t in release.tables],
        "charges": charges(internal),
        "statement": statement,
        "calibrations": sorted(calibrations),
    }


def _without_keys(message: str) -> str:
    """A refusal names release ids and times, which differ between any two releases."""
    return re.sub(r"[0-9a-f]{12}|\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "…", message)


def test_an_empty_quarter_is_released_like_any_other(
    two_stores: list[tuple[Engine, Engine]],
) -> None:
    # The finding: a quarter with no records was refused, unspent, and one with a single
    # record was published; the outcome told the two data sets apart with certainty.
    (internal, public), (internal2, public2) = two_stores
    policy = parse_policy(TWO_TABLES)
    add_stops(internal2, [stop(999, datetime(2023, 2, 14, 9))])  # the neighbour: one record

    empty = decisions(internal, public, "2023Q1", policy)
    one_record = decisions(internal2, public2, "2023Q1", policy)

    assert empty["refused"] is None
    assert empty == one_record
    assert len(empty["tables"]) == 3 and empty["charges"]


@pytest.mark.parametrize(
    "neighbour",
    [
        stop(1000, datetime(2024, 8, 3, 22)),
        stop(1001, datetime(2024, 8, 3, 22), beat="zz9", district="zz"),  # undeclared areas
        stop(1002, datetime(2024, 9, 30, 23, 59), search_conducted="yes", person_key="p0"),
    ],
    ids=["a record", "a record in undeclared areas", "a searched record of a known person"],
)
@pytest.mark.parametrize("policy_text", [TWO_TABLES, PERSON_YEAR], ids=["record", "person"])
def test_every_decision_is_the_same_on_neighbouring_data_sets(
    two_stores: list[tuple[Engine, Engine]], neighbour: dict[str, Any], policy_text: str
) -> None:
    (internal, public), (internal2, public2) = two_stores
    add_stops(internal2, [neighbour])
    policy = parse_policy(policy_text)
    first = decisions(internal, public, "2024Q3", policy)
    assert first["refused"] is None
    assert first == decisions(internal2, public2, "2024Q3", policy)
    # And a refusal is the same too: the quarter is now released under the policy.
    again = decisions(internal, public, "2024Q3", policy)
    assert again["refused"] is not None
    assert again == decisions(internal2, public2, "2024Q3", policy)


def test_a_pure_dp_policy_is_refused_at_its_epsilon(
    two_stores: list[tuple[Engine, Engine]],
) -> None:
    (internal, public), _ = two_stores
    policy = parse_policy(FIVE_PURE_DP_TABLES)

    built = build_release(internal, public, "2024Q3", policy)
    with pytest.raises(BudgetExceeded, match=r"asks for epsilon=1 of 2024Q3's budget"):
        build_release(internal, public, "2024Q3", policy, rerelease=True)

    (budget,) = period_budgets(internal)
    assert (budget.currency, budget.cap) == ("epsilon", 1.0)
    assert budget.spent == pytest.approx(1.0)
    release = read_release(public, built.release_id)
    assert release is not None
    statement = release.budget_statement
    assert (statement["currency"], statement["period_cap"]) == ("epsilon", 1.0)
    assert statement["epsilon"] == pytest.approx(1.0) and statement["delta"] == 0
    assert "pure-DP budget of epsilon = 1" in str(statement["words"])


def test_a_zcdp_policy_is_refused_at_its_rho(two_stores: list[tuple[Engine, Engine]]) -> None:
    (internal, public), _ = two_stores
    policy = parse_policy(TWO_TABLES.replace("rho = 0.5", "rho = 0.2"))
    build_release(internal, public, "2024Q3", policy)
    with pytest.raises(BudgetExceeded, match=r"only rho=0 of its rho=0.2 remains"):
        build_release(internal, public, "2024Q3", policy, rerelease=True)
    (budget,) = period_budgets(internal)
    assert budget.currency == "rho" and budget.spent == pytest.approx(0.2)


def test_a_person_is_bounded_over_the_year(two_stores: list[tuple[Engine, Engine]]) -> None:
    (internal, public), _ = two_stores
    policy = parse_policy(PERSON_YEAR)
    add_stops(internal, [stop(2000 + n, datetime(2024, 2 + 3 * n, 5, 12)) for n in range(3)])

    first = build_release(internal, public, "2024Q1", policy)
    build_release(internal, public, "2024Q2", policy)
    # 0.25 + 0.25 of the year's 0.6: a third quarter would pass it, though its own has room.
    with pytest.raises(BudgetExceeded, match=r"person unit's budget for year 2024"):
        build_release(internal, public, "2024Q3", policy)

    release = read_release(public, first.release_id)
    assert release is not None
    assert release.budget_statement["horizon"] == "year 2024"
    assert "Over the horizon year 2024" in str(release.budget_statement["words"])


def _build_first(internal_url: str, public_url: str, start: float) -> str:
    from publishing.db import make_engine

    internal, public = make_engine(internal_url), make_engine(public_url)
    time.sleep(max(0.0, start - time.time()))
    try:
        return build_release(internal, public, "2024Q3", parse_policy(TWO_TABLES)).release_id
    except ReleaseRefused as refused:
        return f"refused: {refused}"
    finally:
        internal.dispose()
        public.dispose()


def test_concurrent_first_releases_publish_one(settings: Settings, tmp_path: Path) -> None:
    # The finding: eight concurrent builds without --rerelease published three releases of
    # one quarter: the guard ran outside the ledger's lock.
    internal, public = internal_engine(settings), public_engine(settings)
    declare_areas(internal, public, tmp_path)
    add_stops(internal, BASE)
    internal.dispose()
    public.dispose()
    start = time.time() + 5.0
    with multiprocessing.get_context("fork").Pool(6) as pool:
        outcomes = pool.starmap(
            _build_first, [(settings.internal_db_url, settings.public_db_url, start)] * 6
        )

    published = [o for o in outcomes if not o.startswith("refused")]
    public = public_engine(settings)
    with public.connect() as connection:
        releases = connection.execute(select(Release.id)).scalars().all()
    public.dispose()
    assert len(published) == 1 and releases == published
    assert all("already" in o for o in outcomes if o.startswith("refused")), outcomes


def test_a_charge_whose_release_was_lost_is_named(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    internal, public = internal_engine(settings), public_engine(settings)
    declare_areas(internal, public, tmp_path)
    add_stops(internal, BASE)
    policy = parse_policy(TWO_TABLES)

    def crash(*_: object, **__: object) -> str:
        raise KeyboardInterrupt  # the process stops between the charge and the publication

    monkeypatch.setattr(build_module, "write_release", crash)
    with pytest.raises(KeyboardInterrupt):
        build_release(internal, public, "2024Q3", policy)
    monkeypatch.undo()

    with pytest.raises(ReleaseRefused) as refused:
        build_release(internal, public, "2024Q3", policy)
    assert "and no release of that charge is in the public store" in str(refused.value)
    assert "that budget stays spent" in str(refused.value) and "--rerelease" in str(refused.value)
    env = {
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
        "COLUMNS": "200",
    }
    shown = CliRunner().invoke(cli, ["budget"], env=env)
    assert "charged, not published: release key" in shown.stdout
    listed = json.loads(CliRunner().invoke(cli, ["budget", "--json"], env=env).stdout)
    assert len(listed["periods"][0]["unpublished"]) == 1
    internal.dispose()
    public.dispose()


def test_a_release_without_its_report_points_to_report_build(
    two_stores: list[tuple[Engine, Engine]],
) -> None:
    (internal, public), _ = two_stores
    policy = parse_policy(TWO_TABLES)
    build_release(internal, public, "2024Q3", policy)  # no report is built here

    with pytest.raises(ReleaseRefused) as refused:
        build_release(internal, public, "2024Q3", policy)
    message = str(refused.value)
    assert "already released under this policy" in message
    assert "Its report is missing: build it with `portal report build --period 2024Q3`" in message


_QUARTERS = iter(f"{year}Q{q}" for year in range(1990, 2020) for q in (1, 2, 3, 4))


class _SharedStores:
    """One SQLite store pair with the areas declared, made on first use, for the examples
    of a property test (each example releases a quarter of its own)."""

    def __init__(self) -> None:
        self._pair: tuple[Engine, Engine] | None = None

    def pair(self) -> tuple[Engine, Engine]:
        if self._pair is None:
            folder = Path(tempfile.mkdtemp(prefix="any-budget-"))
            settings = Settings.for_directory(folder)
            upgrade_stores(settings)
            self._pair = internal_engine(settings), public_engine(settings)
            declare_areas(*self._pair, folder)
        return self._pair


_SHARED_STORES = _SharedStores()


@settings(max_examples=25, deadline=None)
@given(
    mechanism=st.sampled_from(["gaussian", "laplace"]),
    exponent=st.floats(min_value=-3, max_value=9),
)
def test_any_budget_the_validator_accepts_runs(mechanism: str, exponent: float) -> None:
    # The finding: rho 1e6 crashed with an OpenDP overflow, and any table noise scale under
    # about 0.02 with a ZeroDivisionError in the least squares.
    budget = 10.0**exponent
    text = TWO_TABLES.replace(
        "rho = 0.5",
        f"rho = {budget!r}"
        if mechanism == "gaussian"
        else f'mechanism = "laplace"\nepsilon = {budget!r}',
    )
    policy = parse_policy(text)
    period = next(_QUARTERS)
    internal, public = _SHARED_STORES.pair()
    start = Quarter.parse(period).start
    add_stops(
        internal,
        [stop(n, start + timedelta(days=n), source_id=f"{period}-{n}") for n in range(40)],
    )

    built = build_release(internal, public, period, policy)

    release = read_release(public, built.release_id)
    assert release is not None and all(
        c.ci_low <= c.value <= c.ci_high for t in release.tables for c in t.cells
    )
    if budget >= 1e6:  # negligible noise: the pipeline publishes the true counts
        (by_beat,) = [t for t in release.tables if t.name == "stops_by_month_beat"]
        assert sum(c.value for c in by_beat.cells) == 40
        assert all(c.ci_low == c.value == c.ci_high for c in by_beat.cells)
