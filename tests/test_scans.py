"""One scan per source: a release's tables counted together give each table's own counts.

The tables of one source are grouped in one pass at the finest grain they need and summed
in memory; the counts must be exactly what one GROUP BY per table gives, on data shaped
like a real export: codes outside the table's vocabulary, areas nobody declared, records
outside the quarter, filters on several codes, sources with nothing in the quarter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, event, insert

from portal.settings import Settings
from portal.stores import internal_engine, upgrade_stores
from privacy.release import scans
from privacy.release.aggregate import count_table
from privacy.release.periods import Quarter
from privacy.release.policy import PrivacyUnit, parse_policy
from privacy.store.models import Incident, Stop
from tests.conftest import _drop_databases, _postgres_databases

Q3 = Quarter.parse("2024Q3")
AREAS = {"district": ("d1", "d2"), "beat": ("d1b1", "d1b2", "d2b1")}
RECORD = PrivacyUnit("record")
POLICY = parse_policy("""
name = "scans"
[budget]
rho = 1.0
[[tables]]
name = "by_month_beat"
source = "stops"
dimensions = ["month", "beat"]
weight = 0.2
[[tables]]
name = "by_district_race"
source = "stops"
dimensions = ["quarter", "district", "subject_race"]
weight = 0.2
[[tables]]
name = "hits_by_race"
source = "stops"
dimensions = ["quarter", "subject_race"]
where = { search_conducted = ["yes"], contraband_found = ["yes"] }
weight = 0.2
[[tables]]
name = "no_action_by_month_beat"
source = "stops"
dimensions = ["month", "beat"]
where = { outcome = "no_enforcement", contraband_found = ["no", "unknown"] }
weight = 0.2
[[tables]]
name = "all_stops"
source = "stops"
dimensions = ["quarter"]
weight = 0.2
[[tables]]
name = "incidents_by_month_offense"
source = "incidents"
dimensions = ["month", "district", "offense_category"]
weight = 1.0
[[tables]]
name = "force_by_type"
source = "force"
dimensions = ["quarter", "force_type"]
weight = 1.0
""")
# The race table again, as a department recording the UK's ethnic groups counts it:
# "hispanic" is outside that vocabulary and must come out as unknown.
UK_RACE = dataclasses.replace(
    POLICY.table("by_district_race"),
    name="by_district_ethnicity",
    vocabularies=(("subject_race", "uk-ethnic-groups"),),
)
TABLES = (*POLICY.tables, UK_RACE)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def internal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated internal store for the whole module (records replaced by each example)."""
    folder = tmp_path_factory.mktemp("scans")
    names: list[str] = []
    if request.param == "sqlite":
        chosen = Settings.for_directory(folder)
    else:
        admin = request.getfixturevalue("postgres_server")
        names, urls = _postgres_databases(admin)
        chosen = Settings(data_dir=folder, internal_db_url=urls[0], public_db_url=urls[1])
    upgrade_stores(chosen)
    engine = internal_engine(chosen)
    yield engine
    engine.dispose()
    if names:
        _drop_databases(request.getfixturevalue("postgres_server"), names)


def _stop(n: int, values: tuple[int, str, str, str, str, str, str, str]) -> dict[str, Any]:
    month, beat, district, race, search, contraband, outcome, _ = values
    return {
        "source": "dept",
        "source_id": f"S{n}",
        "batch_id": 1,
        "occurred_at": datetime(2024, month, 1 + n % 28, n % 24, 15),
        "district": district,
        "beat": beat,
        "stop_type": "vehicular",
        "reason": "other",
        "subject_race": race,
        "subject_sex": "male",
        "subject_age_band": "unknown",
        "frisk_performed": "no",
        "search_conducted": search,
        "contraband_found": contraband,
        "outcome": outcome,
        "use_of_force": "no",
        "person_key": None,
        "officer_key": None,
        "lat": None,
        "lng": None,
    }


def _incident(n: int, values: tuple[int, str, str, str, str, str, str, str]) -> dict[str, Any]:
    month, _, district, *_, offense = values
    return {
        "source": "dept",
        "source_id": f"I{n}",
        "batch_id": 1,
        "occurred_at": datetime(2024, month, 1 + n % 28, 3),
        "district": district,
        "beat": "d1b1",
        "offense_category": offense,
        "crime_against": "unknown",
        "lat": None,
        "lng": None,
    }


def _replace_records(engine: Engine, stops: list[dict[str, Any]], incidents: list[Any]) -> None:
    with engine.begin() as connection:
        connection.execute(delete(Stop))
        connection.execute(delete(Incident))
        if stops:
            connection.execute(insert(Stop), stops)
        if incidents:
            connection.execute(insert(Incident), incidents)


records = st.lists(
    st.tuples(
        st.integers(5, 11),  # months of Q2, Q3 and Q4
        st.sampled_from(["d1b1", "d1b2", "d2b1", "gone"]),  # "gone": declared nowhere
        st.sampled_from(["d1", "d2", "d7"]),
        st.sampled_from(["black", "white", "hispanic", "asian", "unknown"]),
        st.sampled_from(["yes", "no", "unknown"]),
        st.sampled_from(["yes", "no", "unknown"]),
        st.sampled_from(["none", "warning", "arrest", "no_further_action", "unknown"]),
        st.sampled_from(["robbery", "burglary", "drug_offenses", "unknown"]),
    ),
    max_size=60,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records, st.booleans())
def test_counting_by_scan_gives_each_tables_own_counts(
    internal: Engine, drawn: list[tuple[int, str, str, str, str, str, str, str]], small: bool
) -> None:
    """Whatever the records, and however the tables are packed into scans (one per source,
    or as many as the key-space limit forces), every table's counts are those of its own
    GROUP BY."""
    _replace_records(
        internal,
        [_stop(n, values) for n, values in enumerate(drawn)],
        [_incident(n, values) for n, values in enumerate(drawn) if n % 2],
    )
    limit = 8 if small else scans.SCAN_CELLS
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scans, "SCAN_CELLS", limit)
        together = scans.count_tables(internal, TABLES, Q3, RECORD, AREAS)
    alone = [count_table(internal, spec, Q3, RECORD, AREAS) for spec in TABLES]
    assert together == alone


def test_a_release_reads_each_source_once(internal: Engine) -> None:
    """Six stops tables, one incidents table and one force table: each source's quarter
    is read once (one query per table before). PostgreSQL reads it in one query; SQLite
    reads a scan by month as three queries, each a month's range of the table's key."""
    _replace_records(internal, [_stop(1, (8, "d1b1", "d1", "black", "yes", "yes", "none", ""))], [])
    statements: list[str] = []

    def seen(_c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        statements.append(statement)

    event.listen(internal, "before_cursor_execute", seen)
    try:
        counted = scans.count_tables(internal, TABLES, Q3, RECORD, AREAS)
    finally:
        event.remove(internal, "before_cursor_execute", seen)
    read = [
        table
        for statement in statements
        for table in ("stops", "incidents", "force_events")
        if f"FROM {table}" in statement
    ]
    if internal.dialect.name == "postgresql":
        assert sorted(read) == ["force_events", "incidents", "stops"]
    else:
        assert sorted(read) == ["force_events", *["incidents"] * 3, *["stops"] * 3]
        assert all("substr" not in statement for statement in statements)
    assert [sum(c.counts) for c in counted] == [1, 1, 1, 0, 1, 0, 0, 1]

    # Where the stops tables need three scans, PostgreSQL still reads the quarter once
    # (grouping sets); SQLite, which has none, once a scan: three months for the scan by
    # month and beat, once each for the other two.
    statements.clear()
    event.listen(internal, "before_cursor_execute", seen)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scans, "SCAN_CELLS", 8)
            assert scans.count_tables(internal, TABLES, Q3, RECORD, AREAS) == counted
    finally:
        event.remove(internal, "before_cursor_execute", seen)
    reads = sum("FROM stops" in statement for statement in statements)
    assert reads == (1 if internal.dialect.name == "postgresql" else 3 + 1 + 1)


def test_scans_are_planned_from_the_key_sets_alone() -> None:
    """Tables are packed into a scan only while its key space stays within the limit, and
    every table is in exactly one scan of its own source."""
    planned = scans.plan_scans(TABLES, AREAS)
    assert sorted(i for scan in planned for i in scan.members) == list(range(len(TABLES)))
    for scan in planned:
        assert {TABLES[i].source for i in scan.members} == {scan.source}
    assert [scan.source for scan in planned].count("stops") == 1
    # With a limit of 8 cells, two stops tables share a scan only where one's fields are
    # among the other's: stops by month and beat ride with the no-action stops by month
    # and beat, both race tables by district together, with the quarter's total, which
    # joins the smallest scan.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scans, "SCAN_CELLS", 8)
        tight = scans.plan_scans(TABLES, AREAS)
    assert sorted(s.members for s in tight if s.source == "stops") == [
        (0, 3),
        (1, 4, 7),
        (2,),
    ]


def test_a_person_unit_keeps_one_query_per_table(internal: Engine) -> None:
    """Counted by person, each table bounds each person's contributions itself."""
    _replace_records(
        internal,
        [_stop(n, (8, "d1b1", "d1", "black", "yes", "yes", "none", "")) for n in range(5)],
        [],
    )
    person = PrivacyUnit("person", 1, 1)
    stops_tables = [t for t in TABLES if t.source == "stops"]
    assert scans.count_tables(internal, stops_tables, Q3, person, AREAS) == [
        count_table(internal, spec, Q3, person, AREAS) for spec in stops_tables
    ]


def test_a_scan_holds_no_more_groups_than_its_key_sets_allow(internal: Engine) -> None:
    """Records may name any number of areas nobody declared; a scan reads each as unknown,
    so the groups it holds stay within the cells its plan counted from the key sets."""
    stops = [
        _stop(n, (8, f"free-text beat {n}", f"district {n % 97}", "black", "no", "no", "none", ""))
        for n in range(600)
    ]
    _replace_records(internal, stops, [])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scans, "SCAN_CELLS", 8)  # the scan by month and beat: 432 cells
        planned = scans.plan_scans(TABLES, AREAS)
        stops_scans = [scan for scan in planned if scan.source == "stops"]
        with internal.connect() as connection:
            found = scans._found(connection, stops_scans, Q3, AREAS)
        for scan, groups in zip(stops_scans, found, strict=True):
            assert 0 < len(groups) <= scans._cells(scan.fields, "stops", AREAS)
        assert scans.count_tables(internal, TABLES, Q3, RECORD, AREAS) == [
            count_table(internal, spec, Q3, RECORD, AREAS) for spec in TABLES
        ]
