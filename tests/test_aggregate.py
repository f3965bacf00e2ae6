"""Aggregation in the database: full key sets, unknowns kept, contributions bounded."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert

from portal.settings import Settings
from portal.stores import internal_engine, public_engine, upgrade_stores
from privacy import vocabulary as v
from privacy.ingest import ingest_file, load_mapping
from privacy.release.aggregate import NoAreasError, count_table, key_set, sensitivity
from privacy.release.parts import measured_parts
from privacy.release.periods import Quarter
from privacy.release.policy import PrivacyUnit, parse_policy
from privacy.store.models import Incident, Stop
from publishing.areas import area_codes
from tests.canonical import AREAS_HEADER, small_city_rows, stop_row, write_csv, write_stops

Q3 = Quarter.parse("2024Q3")
AREAS = {"district": ("d1",), "beat": ("d1b1", "d1b2")}
BEAT_DISTRICTS = {"d1b1": "d1", "d1b2": "d1"}
POLICY = parse_policy("""
name = "t"
[budget]
rho = 1.0
[[tables]]
name = "by_month_beat"
source = "stops"
dimensions = ["month", "beat"]
weight = 0.5
[[tables.levels]]
dimensions = ["month", "district"]
weight = 0.2
[[tables.levels]]
dimensions = ["quarter"]
weight = 0.2
[[tables]]
name = "searches_by_race"
source = "stops"
dimensions = ["quarter", "district", "subject_race"]
where = { search_conducted = ["yes"] }
weight = 0.5
""")
RECORD = PrivacyUnit("record")


def test_every_cell_of_the_key_set_is_counted_empty_ones_too(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    rows = [
        stop_row(
            n,
            occurred_at=f"2024-0{7 + n % 2}-0{1 + n % 9}T10:00:00",
            beat="d1b1" if n % 3 else "d1b2",
        )
        for n in range(30)
    ]
    rows.append(stop_row(99, occurred_at="2024-10-01T00:00:00"))  # next quarter
    rows.append(stop_row(98, beat="nowhere", occurred_at="2024-07-15T00:00:00"))
    ingest_file(
        internal,
        public,
        "stops",
        write_stops(tmp_path / "s.csv", rows),
        load_mapping("synthetic-stops"),
    )

    counts = count_table(internal, POLICY.table("by_month_beat"), Q3, RECORD, AREAS)

    expected = Counter(
        (r["occurred_at"][:7], r["beat"] if r["beat"] in AREAS["beat"] else "unknown")
        for r in rows
        if r["occurred_at"] < "2024-10"
    )
    assert counts.keys == tuple((m, b) for m in Q3.months for b in ("d1b1", "d1b2", "unknown"))
    assert counts.counts == tuple(expected.get(k, 0) for k in counts.keys)
    assert 0 in counts.counts  # September has no stops: released as a zero cell
    assert sum(counts.counts) == 31


def test_filters_and_quarter_tables(engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    internal, public = engines
    rows = [stop_row(n, occurred_at="2024-08-01T00:00:00") for n in range(40)]
    ingest_file(
        internal,
        public,
        "stops",
        write_stops(tmp_path / "s.csv", rows),
        load_mapping("synthetic-stops"),
    )

    counts = count_table(internal, POLICY.table("searches_by_race"), Q3, RECORD, AREAS)

    searched = Counter(r["subject_race"] for r in rows if r["search_conducted"] == "yes")
    assert len(counts.keys) == 2 * len(v.SUBJECT_RACE)  # d1 and unknown
    assert dict(zip(counts.keys, counts.counts, strict=True)) == {
        ("2024Q3", d, race): searched.get(race, 0) if d == "d1" else 0
        for d in ("d1", "unknown")
        for race in v.SUBJECT_RACE
    }


def test_no_areas_means_no_release() -> None:
    with pytest.raises(NoAreasError, match="run `portal ingest areas FILE --mapping NAME`"):
        key_set(POLICY.table("by_month_beat"), Q3, {})


def test_a_person_is_bounded_in_the_query(engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    internal, public = engines
    # person P1: five stops in July/d1b1, one in each of three other cells
    cells = [("2024-07-02", "d1b1")] * 5 + [
        ("2024-08-02", "d1b1"),
        ("2024-09-02", "d1b2"),
        ("2024-07-03", "d1b2"),
    ]
    rows = [
        stop_row(n, occurred_at=f"{day}T00:00:00", beat=beat, person_key="P1")
        for n, (day, beat) in enumerate(cells)
    ]
    rows.append(stop_row(50, occurred_at="2024-07-02T00:00:00", beat="d1b1", person_key=""))
    ingest_file(
        internal,
        public,
        "stops",
        write_stops(tmp_path / "s.csv", rows),
        load_mapping("synthetic-stops"),
    )
    person = PrivacyUnit("person", max_records_per_cell=2, max_cells=3)

    counts = count_table(internal, POLICY.table("by_month_beat"), Q3, person, AREAS)

    by_key = dict(zip(counts.keys, counts.counts, strict=True))
    # P1 keeps its busiest cell (capped at 2) and two more; the keyless stop is its own person
    assert by_key[("2024-07", "d1b1")] == 2 + 1
    assert sum(counts.counts) == 2 + 1 + 1 + 1


def test_incidents_under_a_person_unit_count_each_record_as_its_own_person(
    engines: tuple[Engine, Engine],
) -> None:
    # Incidents carry no person key: a person-unit policy with an incidents table crashed.
    internal, _ = engines
    incident = {
        "source": "t",
        "batch_id": 1,
        "offense_category": "burglary",
        "crime_against": "property",
        "district": "d1",
        "beat": "d1b1",
        "lat": None,
        "lng": None,
    }
    with internal.begin() as connection:
        connection.execute(
            insert(Incident),
            [
                incident | {"source_id": f"i{n}", "occurred_at": datetime(2024, 7, 1 + n, 9)}
                for n in range(4)
            ],
        )
    spec = parse_policy("""
name = "people"
[unit]
kind = "person"
max_records_per_cell = 1
max_cells = 1
[budget]
rho = 1.0
horizon = "portal"
horizon_rho = 4.0
[[tables]]
name = "incidents_by_beat"
source = "incidents"
dimensions = ["quarter", "beat"]
weight = 1.0
""").tables[0]

    counts = count_table(internal, spec, Q3, PrivacyUnit("person", 1, 1), AREAS)

    assert dict(zip(counts.keys, counts.counts, strict=True))[("2024Q3", "d1b1")] == 4


def _insert(engine: Engine, records: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(delete(Stop))
        if records:
            connection.execute(insert(Stop), records)


@pytest.fixture(scope="module")
def sqlite_internal(tmp_path_factory: pytest.TempPathFactory) -> Any:
    chosen = Settings.for_directory(tmp_path_factory.mktemp("agg"))
    upgrade_stores(chosen)
    engine = internal_engine(chosen)
    public_engine(chosen).dispose()
    yield engine
    engine.dispose()


records_strategy = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(0, 2),
        st.sampled_from(["d1b1", "d1b2", "x"]),
        st.integers(1, 28),
    ),
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records_strategy, st.integers(1, 3), st.integers(1, 3), st.randoms())
def test_removing_one_unit_moves_counts_by_at_most_the_sensitivity(
    sqlite_internal: Engine,
    data: list[tuple[int, int, str, int]],
    c: int,
    g: int,
    rnd: random.Random,
) -> None:
    """For neighbouring data sets (one person's records removed), each table's count vector,
    and each of its levels', changes by no more than the stated L1 and L2 sensitivity;
    likewise for one record."""
    records = [
        {
            "source": "t",
            "source_id": f"r{i}",
            "batch_id": 1,
            "occurred_at": datetime(2024, 7 + month, day, 12),
            "district": "d1",
            "beat": beat,
            "stop_type": "vehicular",
            "reason": "other",
            "subject_race": "black",
            "subject_sex": "male",
            "subject_age_band": "unknown",
            "frisk_performed": "no",
            "search_conducted": "no",
            "contraband_found": "no",
            "outcome": "none",
            "use_of_force": "no",
            "person_key": f"P{person}",
            "officer_key": None,
            "lat": None,
            "lng": None,
        }
        for i, (person, month, beat, day) in enumerate(data)
    ]
    spec = POLICY.table("by_month_beat")
    for unit in (PrivacyUnit("person", c, g), RECORD):
        _insert(sqlite_internal, records)
        full = measured_parts(
            count_table(sqlite_internal, spec, Q3, unit, AREAS), Q3, unit, AREAS, BEAT_DISTRICTS
        )
        if unit.kind == "person":
            dropped = f"P{rnd.randrange(6)}"
            neighbour = [r for r in records if r["person_key"] != dropped]
        else:
            neighbour = records[:]
            if neighbour:
                neighbour.pop(rnd.randrange(len(neighbour)))
        _insert(sqlite_internal, neighbour)
        smaller = measured_parts(
            count_table(sqlite_internal, spec, Q3, unit, AREAS), Q3, unit, AREAS, BEAT_DISTRICTS
        )
        assert full[0].sensitivity == sensitivity(unit)  # the table's own cells
        for before, after in zip(full, smaller, strict=True):  # and each of its levels
            diff = [a - b for a, b in zip(before.counts, after.counts, strict=True)]
            assert sum(abs(d) for d in diff) <= before.sensitivity.l1
            assert math.sqrt(sum(d * d for d in diff)) <= before.sensitivity.l2 + 1e-9


def test_the_key_set_areas_come_from_the_public_store(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    ingest_file(
        internal,
        public,
        "areas",
        write_csv(tmp_path / "a.csv", AREAS_HEADER, small_city_rows()),
        load_mapping("synthetic-areas"),
    )

    declared = area_codes(public)

    assert declared == {"city": ("city",), **AREAS}
    assert key_set(POLICY.table("by_month_beat"), Q3, declared)[:3] == [
        ("2024-07", "d1b1"),
        ("2024-07", "d1b2"),
        ("2024-07", "unknown"),
    ]
