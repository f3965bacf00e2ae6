"""A department shaped like the large real exports the synthetic city is not: 72 precincts,
skewed groups, three of six outcome codes, rare searches, stops only, a first quarter that
starts mid-March. Its releases withhold what it does not record, publish codes it never
uses as structural zeros, agree across nested tables, label the partial quarter, and the
figures residents read from them do not lean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader
from sqlalchemy import Engine

from portal.settings import Settings
from portal.stores import internal_engine, public_engine, upgrade_stores
from privacy.release.build import build_release
from privacy.release.parts import measured_parts
from privacy.release.periods import Quarter
from privacy.release.policy import load_policy
from privacy.release.scans import count_tables
from privacy.release.shape import counted_parts, prepare, release_shape
from privacy.synth.sparse import (
    PRECINCTS,
    generate_sparse_department,
    ingest_sparse_department,
)
from publishing.catalog import load_catalog
from publishing.figures import category_totals, rates
from publishing.profile import read_profile
from publishing.reports import build_report

QUARTERLY = load_policy("quarterly")


@dataclass(frozen=True)
class Stores:
    internal: Engine
    public: Engine


@pytest.fixture(scope="module")
def sparse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stores]:
    """The sparse department (60,000 stops) ingested into SQLite stores, its profile
    declared, its partial first quarter and its first full quarter released."""
    root = tmp_path_factory.mktemp("sparse")
    manifest = generate_sparse_department(root / "files", stops=60_000)
    settings = Settings.for_directory(root)
    upgrade_stores(settings)
    stores = Stores(internal_engine(settings), public_engine(settings))
    ingest_sparse_department(stores.internal, stores.public, manifest)
    for quarter in ("2023Q1", "2023Q2"):
        build_release(stores.internal, stores.public, quarter, QUARTERLY, actor="test")
    yield stores
    stores.internal.dispose()
    stores.public.dispose()


def test_the_profile_says_what_the_export_records(sparse: Stores) -> None:
    profile = read_profile(sparse.public)
    assert profile is not None and list(profile.sources) == ["stops"]
    stops = profile.sources["stops"]
    assert stops.fields["outcome"] == ("none", "summons", "arrest")
    assert not stops.records("reason") and not stops.records("stop_type")
    assert stops.window == (date(2023, 3, 15), date(2024, 12, 31))


def test_what_is_not_recorded_is_withheld_or_a_structural_zero(sparse: Stores) -> None:
    catalog = load_catalog(sparse.public)
    statement = catalog.current["2023Q2"].budget_statement
    assert {w["table"] for w in statement["withheld"]} == {
        "stops_by_district_reason",
        "stops_by_reason_race",
        "force_by_district_race",
        "force_by_type",
        "incidents_by_month_beat_offense",
    }
    assert catalog.table("2023Q2", "force_by_district_race") is None
    outcomes = catalog.table("2023Q2", "stops_by_outcome")
    assert outcomes is not None
    never = [c for c in outcomes.cells if c.key[1] in ("warning", "citation", "unknown")]
    assert len(never) == 3
    assert all(c.structural and (c.value, c.ci_low, c.ci_high) == (0, 0, 0) for c in never)
    used = [c for c in outcomes.cells if c.key[1] in ("none", "summons", "arrest")]
    assert not any(c.structural for c in used)
    districts = catalog.table("2023Q2", "stops_by_district")
    assert districts is not None and len(districts.cells) == PRECINCTS + 1  # and "unknown"


def test_the_first_quarter_is_labelled_partial(sparse: Stores) -> None:
    catalog = load_catalog(sparse.public)
    first = catalog.current["2023Q1"].budget_statement
    assert first["partial"] is True
    assert first["coverage"] == {"stops": ["2023-03-15", "2023-03-31"]}
    assert catalog.current["2023Q2"].budget_statement["partial"] is False


@pytest.mark.parametrize(
    ("narrower", "wider"),
    [
        ("searches_by_district_race", "stops_by_district_race"),
        ("search_hits_by_district_race", "searches_by_district_race"),
        ("no_action_stops_by_month_beat", "stops_by_month_beat"),
        ("search_hits_by_race", "searches_by_race"),
    ],
)
def test_nested_tables_agree(sparse: Stores, narrower: str, wider: str) -> None:
    catalog = load_catalog(sparse.public)
    for period in ("2023Q1", "2023Q2"):
        inner, outer = catalog.table(period, narrower), catalog.table(period, wider)
        assert inner is not None and outer is not None
        bound = {c.key: c.value for c in outer.cells}
        assert [c.key for c in inner.cells if c.value > bound[c.key]] == []


def test_city_wide_rates_do_not_lean(sparse: Stores) -> None:
    """Over 300 releases of the same quarter, the site's own city-wide search and hit
    rates of the two large groups: mean error within 0.2 of a standard error, 95%
    intervals cover between 0.90 and 0.99 of the time."""
    shape = release_shape(sparse.public, Quarter.parse("2023Q2"), QUARTERLY)
    parts = counted_parts(sparse.internal, shape, QUARTERLY)
    planned, processor = prepare(shape, QUARTERLY, sparse.internal)
    names = frozenset({"stops_by_race", "searches_by_race", "search_hits_by_race"})
    truth = {
        p.part.name: dict(zip((k[1] for k in p.keys), p.counts, strict=True))
        for p in parts
        if p.part.name in names
    }
    found: dict[tuple[str, str], list[tuple[float, float, bool]]] = {}
    for _ in range(300):
        raw = [
            p.apply(c.counts) if p is not None else [0] * len(c.keys)
            for c, p in zip(parts, planned, strict=True)
        ]
        result = processor.publish(raw)
        tables = {t.name: t for t in processor.contents(result, raw, names)}
        stops, searches, hits = (
            category_totals(tables[n], "subject_race")
            for n in ("stops_by_race", "searches_by_race", "search_hits_by_race")
        )
        for figure, top, bottom, (over, under) in (
            ("search", searches, stops, ("searches_by_race", "stops_by_race")),
            ("hit", hits, searches, ("search_hits_by_race", "searches_by_race")),
        ):
            for group, rate in rates(top, bottom):
                if group not in ("black", "hispanic"):
                    continue
                true = 100 * truth[over][group] / truth[under][group]
                found.setdefault((figure, group), []).append(
                    (rate.unbiased - true, rate.std_error, rate.low <= true <= rate.high)
                )
    assert len(found) == 4
    for errors in found.values():
        error = np.array([e for e, _, _ in errors])
        assert len(error) == 300
        assert abs(error.mean()) < 0.2 * error.std(), errors[:3]
        assert 0.90 <= np.mean([c for _, _, c in errors]) <= 0.99


def test_the_export_reads_as_a_department_writes_it(tmp_path: Path) -> None:
    manifest = generate_sparse_department(tmp_path, stops=50)
    header = manifest.stops.read_text().splitlines()[0]
    assert header.startswith("STOP_ID,STOP_DATE,STOP_TIME,PCT,SECTOR,SUSPECT_RACE")
    first = manifest.stops.read_text().splitlines()[1].split(",")
    assert first[1][2] == "/" and first[1].endswith("/2023")  # month/day/year


def test_the_report_of_the_partial_quarter_says_so(sparse: Stores) -> None:
    report = build_report(load_catalog(sparse.public), "2023Q1", render_svgs=None)
    text = re.sub(
        r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(BytesIO(report.pdf)).pages)
    )

    assert "Sparse City Police Department" in text
    assert "A partial quarter: the department's data cover only part of 2023Q1" in text
    assert "stops data from 2023-03-15 to 2023-03-31" in text
    assert "this department does not publish uses of force" in text
    assert "this department does not record reason on stops" in text


@pytest.mark.parametrize("period", ["2023Q1", "2023Q2"])
def test_a_release_counts_the_parts_of_its_shape_as_measured_parts_would(
    sparse: Stores, period: str
) -> None:
    # A release works out its parts (keys, levels, structural zeros, beats rolled up into
    # districts) once, with its shape, and the count fills them in: every table, level
    # and cell must be what measured_parts gives from the same counts.
    shape = release_shape(sparse.public, Quarter.parse(period), QUARTERLY)
    tables = count_tables(sparse.internal, shape.tables, shape.quarter, QUARTERLY.unit, shape.areas)

    counted = counted_parts(sparse.internal, shape, QUARTERLY)

    assert counted == [
        part
        for table in tables
        for part in measured_parts(
            table, shape.quarter, QUARTERLY.unit, shape.areas, shape.districts, shape.profile
        )
    ]
    assert any(len(p.kept) < len(p.all_keys) for p in counted)  # structural zeros
    assert sum(sum(p.counts) for p in counted) > 0
