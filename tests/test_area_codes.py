"""Area codes follow one safe rule (publishing.codes), at ingest and on the site.

An area code ends up in URLs, file names and open-data CSV cells, so ingest refuses one
outside ``[A-Za-z0-9][A-Za-z0-9_.-]{0,63}``: in an areas file (its code and its parent), a
focus-areas file (its code and its beats), a mapping (its values and extra areas), and on
a record (a row error; ``transform = "slug"`` or the mapping's values make one safe).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from portal.web import params
from privacy.ingest import IngestRefused, MappingError, ingest_file, load_mapping
from privacy.ingest.mapping import parse_mapping
from publishing import codes
from tests.canonical import (
    AREAS_HEADER,
    STOP_HEADER,
    small_city_rows,
    stop_row,
    write_csv,
    write_stops,
)
from tests.test_ingest_records import store_snapshot
from tests.test_ingest_reference import FOCUS_HEADER, focus_row

UNSAFE = [
    '=HYPERLINK("http://x","y")',
    "+cmd",
    "-2+3",
    "@SUM(1)",
    "d 1",
    "d1/..",
    ".hidden",
    "_x",
    "d1<script>",
    "d\u00e9",
    "x" * 65,
]
SAFE = ["d1", "1", "D-1.a_b", "x" * 64, "unknown"]
RULE = "not a valid area code: an area code is 1 to 64 characters"


@pytest.mark.parametrize("code", SAFE)
def test_safe_codes_pass(code: str) -> None:
    assert codes.is_area_code(code)


@pytest.mark.parametrize("code", [*UNSAFE, "", "d1\n", "d1\x00"])
def test_unsafe_codes_fail(code: str) -> None:
    assert not codes.is_area_code(code)


def test_the_site_checks_district_codes_with_the_same_rule() -> None:
    assert params.CODE is codes.AREA_CODE


def areas(engines: tuple[Engine, Engine]) -> list[str]:
    with engines[1].connect() as connection:
        return list(connection.execute(text("SELECT code FROM areas")).scalars())


@pytest.mark.parametrize("code", UNSAFE)
def test_an_areas_file_with_an_unsafe_code_is_refused_with_line_value_and_rule(
    engines: tuple[Engine, Engine], tmp_path: Path, code: str
) -> None:
    rows = small_city_rows()
    rows[3]["code"] = code  # line 5, a beat
    path = write_csv(tmp_path / "areas.csv", AREAS_HEADER, rows)

    with pytest.raises(IngestRefused) as refused:
        ingest_file(*engines, "areas", path, load_mapping("synthetic-areas"))

    # Values are shown up to 60 characters.
    assert f"line 5, column 'code', value {code[:60]!r}: {RULE}" in str(refused.value)
    assert areas(engines) == []


def test_an_unsafe_parent_is_refused(engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    rows = small_city_rows()
    rows[2]["parent"] = "=d1"
    path = write_csv(tmp_path / "areas.csv", AREAS_HEADER, rows)

    with pytest.raises(IngestRefused, match="line 4, column 'parent', value '=d1': not a valid"):
        ingest_file(*engines, "areas", path, load_mapping("synthetic-areas"))
    assert areas(engines) == []


@pytest.mark.parametrize(
    ("change", "column", "value"),
    [
        ({"code": "+fa1"}, "code", "+fa1"),
        ({"member_beats": "d1b1;@b"}, "member_beats", "@b"),
        ({"comparison_beats": "d1b2;d 2"}, "comparison_beats", "d 2"),
    ],
)
def test_a_focus_area_with_an_unsafe_code_is_refused(
    engines: tuple[Engine, Engine],
    tmp_path: Path,
    change: dict[str, str],
    column: str,
    value: str,
) -> None:
    city = write_csv(tmp_path / "areas.csv", AREAS_HEADER, small_city_rows())
    ingest_file(*engines, "areas", city, load_mapping("synthetic-areas"))
    path = write_csv(tmp_path / "focus.csv", FOCUS_HEADER, [focus_row(**change)])

    with pytest.raises(IngestRefused) as refused:
        ingest_file(*engines, "focus-areas", path, load_mapping("synthetic-focus-areas"))

    assert f"line 2, column '{column}', value {value!r}: {RULE}" in str(refused.value)
    with engines[1].connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM focus_areas")).scalar_one() == 0


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker"])
def test_an_unsafe_area_code_on_a_record_is_a_row_error(
    engines: tuple[Engine, Engine], tmp_path: Path, parallel: bool
) -> None:
    rows = [stop_row(n) for n in range(1, 1501)]  # two chunks; the bad rows in the second
    rows[1200] = stop_row(1201, district="=1+1")
    rows[1300] = stop_row(1301, beat="@d1b1")
    path = write_stops(tmp_path / "stops.csv", rows)
    stops = load_mapping("synthetic-stops")
    before = store_snapshot(engines[0])

    with pytest.raises(IngestRefused) as refused:
        ingest_file(*engines, "stops", path, stops, parallel=parallel)

    assert f"line 1202, column 'district', value '=1+1': {RULE}" in str(refused.value)
    assert f"line 1302, column 'beat', value '@d1b1': {RULE}" in str(refused.value)
    assert store_snapshot(engines[0]) == before

    report = ingest_file(*engines, "stops", path, stops, parallel=parallel, skip_invalid=True)

    assert (report.rows_added, report.rows_rejected) == (1498, 2)
    with engines[0].connect() as connection:
        stored = set(connection.execute(text("SELECT district FROM stops")).scalars())
        stored |= set(connection.execute(text("SELECT beat FROM stops")).scalars())
    assert all(codes.is_area_code(code) for code in stored)


def canonical_stops(**fields: dict[str, Any]) -> dict[str, Any]:
    """A canonical-layout stops mapping document, with some fields replaced."""
    return {
        "name": "test-stops",
        "kind": "stops",
        "source": "test",
        "fields": {name: fields.get(name, {"column": name}) for name in STOP_HEADER},
    }


def test_slug_makes_area_names_into_safe_codes(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    mapping = parse_mapping(canonical_stops(beat={"column": "beat", "transform": "slug"}))
    rows = [stop_row(1, beat="=Cedar Riverside"), stop_row(2, beat="St. Anthony (East)")]
    path = write_stops(tmp_path / "stops.csv", rows)

    report = ingest_file(*engines, "stops", path, mapping)

    assert report.rows_added == 2
    with engines[0].connect() as connection:
        beats = sorted(connection.execute(text("SELECT beat FROM stops")).scalars())
    assert beats == ["cedar-riverside", "st-anthony-east"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            canonical_stops(district={"column": "district", "values": {"9": "=9"}}),
            "[fields.district] maps '9' to '=9', which is not a valid area code",
        ),
        (
            canonical_stops(district={"value": "d 1"}),
            "[fields.district] value 'd 1', which is not a valid area code",
        ),
        (
            canonical_stops(beat={"column": "beat", "fallback": "@b"}),
            "[fields.beat] fallback '@b', which is not a valid area code",
        ),
        (
            canonical_stops(person_key={"column": "person_key", "values": {"x": "a\x00"}}),
            "[fields.person_key] maps 'x' to 'a\\x00', which holds a NUL",
        ),
        (
            {
                "name": "a",
                "kind": "areas",
                "source": "s",
                "fields": {name: {"column": name} for name in AREAS_HEADER},
                "extra_areas": [{"code": "-city", "level": "city", "name": "City"}],
            },
            "extra_areas entry 1: code '-city' is not a valid area code",
        ),
    ],
    ids=["values", "constant", "fallback", "text value", "extra area"],
)
def test_a_mapping_cannot_bring_in_an_unsafe_value(document: dict[str, Any], message: str) -> None:
    with pytest.raises(MappingError) as refused:
        parse_mapping(document)
    assert message in str(refused.value)


def test_every_shipped_mapping_still_loads() -> None:
    from privacy.ingest.mapping import shipped_mapping_names

    for name in shipped_mapping_names():
        load_mapping(name)
