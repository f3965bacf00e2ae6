"""A layout that changed within one file, on a date: the mapping names the variant and the
day it starts, and each row is read by the layout of its date. Each test ingests a small
export and checks the exact counts per month and per code."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from privacy.ingest import IngestRefused, ingest_file, load_mapping
from privacy.ingest.check import check_file
from privacy.ingest.mapping import MappingError
from publishing.profile import read_profile
from tests.canonical import AREAS_HEADER, small_city_rows, write_csv

# "C" was a citation until the end of 2016; from 2017 the export wrote "C" for "cleared, no
# action" and "S" for a summons.
CODES_CHANGED = """
name = "codes-changed"
kind = "stops"
source = "codes-changed"

[fields.source_id]
column = "STOP_ID"

[fields.occurred_at]
column = "STOP_DATE"
format = "%m/%d/%Y"

[fields.outcome]
column = "OUTCOME"
values = { A = "arrest", C = "citation", N = "none" }
{extra}
[[variants]]
name = "2017 codes"
from_date = 2017-01-01
[variants.fields.outcome]
column = "OUTCOME"
values = { A = "arrest", C = "none", N = "none", S = "summons" }
"""

EXPORT = (
    "STOP_ID,STOP_DATE,OUTCOME,BEAT\n"
    "1,12/30/2016,A,d1b1\n"
    "2,12/31/2016,C,d1b2\n"
    "3,01/01/2017,C,d1b1\n"  # the first day of the new codes
    "4,01/02/2017,S,d1b2\n"
    "5,02/03/2017,N,d1b1\n"
)


def mapping_with(tmp_path: Path, extra: str = "", variants: str = "") -> Path:
    path = tmp_path / "codes-changed.toml"
    path.write_text(CODES_CHANGED.replace("{extra}", extra) + variants)
    return path


def counts(engine: Engine, *columns: str) -> dict[str, int]:
    listed = ", ".join(columns)
    with engine.connect() as connection:
        found = connection.execute(text(f"SELECT {listed}, COUNT(*) FROM stops GROUP BY {listed}"))
        return {"/".join(map(str, row[:-1])): int(row[-1]) for row in found}


def test_codes_that_changed_on_a_date_are_read_by_the_layout_of_each_rows_date(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path = tmp_path / "stops.csv"
    path.write_text(EXPORT)

    report = ingest_file(internal, public, "stops", path, load_mapping(mapping_with(tmp_path)))

    assert report.rows_accepted == 5 and report.rows_rejected == 0
    assert report.by_month() == {"2016-12": 2, "2017-01": 2, "2017-02": 1}
    assert counts(internal, "source_id", "outcome") == {
        "1/arrest": 1,
        "2/citation": 1,  # "C" before 2017
        "3/none": 1,  # "C" from 1 January 2017
        "4/summons": 1,
        "5/none": 1,
    }
    profile = read_profile(public)
    assert profile is not None  # what either layout records
    assert set(profile.sources["stops"].fields["outcome"]) == {
        "none",
        "citation",
        "summons",
        "arrest",
    }


def test_a_code_of_the_new_layout_before_its_date_is_unmapped_and_refused(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path = tmp_path / "stops.csv"
    path.write_text(EXPORT + "6,12/15/2016,S,d1b1\n")  # a summons code a fortnight early
    mapping = load_mapping(mapping_with(tmp_path))

    checked = check_file(mapping, path)
    assert checked.rows_read == 6 and checked.rows_rejected == 1
    assert dict(checked.unmapped["outcome"].counts) == {"S": 1}
    assert dict(checked.per_month) == {"2016-12": 2, "2017-01": 2, "2017-02": 1}
    [(key, rejection)] = checked.rejections.items()
    assert key[:2] == ("outcome", "OUTCOME") and rejection.lines == [7]

    with pytest.raises(IngestRefused):
        ingest_file(internal, public, "stops", path, mapping)
    # Read and converted in a second process, as a large file is: the same rows.
    report = ingest_file(internal, public, "stops", path, mapping, skip_invalid=True, parallel=True)
    assert report.rows_accepted == 5 and report.rows_rejected == 1
    assert counts(internal, "outcome") == {"arrest": 1, "citation": 1, "none": 2, "summons": 1}


def test_a_dated_variant_also_takes_the_district_from_the_beat(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    areas = write_csv(tmp_path / "areas.csv", AREAS_HEADER, small_city_rows())
    ingest_file(internal, public, "areas", areas, load_mapping("synthetic-areas"))
    path = tmp_path / "stops.csv"
    path.write_text(EXPORT)
    beats = '\n[fields.beat]\ncolumn = "BEAT"\n[fields.district]\nparent_of = "beat"\n'

    ingest_file(internal, public, "stops", path, load_mapping(mapping_with(tmp_path, beats)))

    assert counts(internal, "district", "outcome") == {
        "d1/arrest": 1,
        "d1/citation": 1,
        "d1/none": 2,
        "d1/summons": 1,
    }


def test_a_header_variant_takes_the_district_from_the_beat_as_its_base_does(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    areas = write_csv(tmp_path / "areas.csv", AREAS_HEADER, small_city_rows())
    ingest_file(internal, public, "areas", areas, load_mapping("synthetic-areas"))
    mapping = tmp_path / "renamed.toml"
    mapping.write_text(
        'name = "renamed"\nkind = "stops"\nsource = "renamed"\n'
        '[fields.source_id]\ncolumn = "ID"\n[fields.occurred_at]\ncolumn = "WHEN"\n'
        '[fields.beat]\ncolumn = "BEAT"\n[fields.district]\nparent_of = "beat"\n'
        '[[variants]]\nname = "new beat column"\nwhen_header_has = ["BEAT_CODE"]\n'
        '[variants.fields.beat]\ncolumn = "BEAT_CODE"\n'
    )
    path = tmp_path / "2024.csv"
    path.write_text("ID,WHEN,BEAT_CODE\n1,2024-01-05T10:00,d1b1\n2,2024-01-06T10:00,d1b2\n")

    ingest_file(internal, public, "stops", path, load_mapping(mapping))

    assert counts(internal, "district") == {"d1": 2}


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        (
            '[[variants]]\nname = "odd"\n',
            r"\(odd\) needs one of when_header_has = \[the columns its files have\] or "
            r"from_date = YYYY-MM-DD",
        ),
        (
            '[[variants]]\nname = "both"\nwhen_header_has = ["X"]\nfrom_date = 2018-01-01\n',
            r"\(both\) needs one of .* not both",
        ),
        (
            '[[variants]]\nname = "later"\nfrom_date = 2018-01-01\n'
            '[variants.fields.occurred_at]\ncolumn = "DAY"\n',
            r"\(later\): a variant chosen by date cannot read the date another way",
        ),
        (
            '[[variants]]\nname = "again"\nfrom_date = 2017-01-01\n',
            r"\(again\): another variant also starts on 2017-01-01",
        ),
        (
            '[[variants]]\nname = "by header"\nwhen_header_has = ["X"]\n',
            r"either by header \(when_header_has\) or by date \(from_date\), not both in one",
        ),
        (
            '[[variants]]\nname = "text"\nfrom_date = "January 2018"\n',
            r"\[variants 2\] from_date: not a date: write it as YYYY-MM-DD",
        ),
    ],
)
def test_a_variant_that_cannot_be_told_apart_says_what_to_fix(
    tmp_path: Path, variants: str, message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        load_mapping(mapping_with(tmp_path, variants=variants))
