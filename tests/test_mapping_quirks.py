"""Quirks of real exports that a mapping reads without a pre-processing script: an id made of
two columns, a stop repeated once per weapon found, an outcome spread over yes/no columns,
a reason spread over flag columns in order of priority. Each test ingests a small export
and checks the exact counts per month and per code."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from privacy.ingest import IngestRefused, ingest_file, load_mapping
from privacy.ingest.mapping import MappingError
from privacy.profile import recorded_by
from publishing.profile import read_profile
from tests.canonical import AREAS_HEADER, small_city_rows, write_csv

HEADER = ["PCT", "SER_NUM", "DATE", "ARREST_MADE", "SUMMONS_ISSUED", "CS_FURTIVE", "CS_DRUGS"]
MAPPING = """
name = "quirks"
kind = "stops"
source = "quirks-pd"
timezone = "America/New_York"
{top}

[fields.source_id]
columns = ["PCT", "SER_NUM"]
combine = "join"                # the serial number repeats across precincts

[fields.occurred_at]
column = "DATE"
format = "%m/%d/%Y"

[fields.outcome]
columns = ["ARREST_MADE", "SUMMONS_ISSUED"]
combine = "most_severe"
[fields.outcome.column_values]
ARREST_MADE = {{ Y = "arrest", N = "none" }}
SUMMONS_ISSUED = {{ Y = "summons", N = "none" }}

[fields.reason]
columns = ["CS_FURTIVE", "CS_DRUGS"]
combine = "first"               # the first flag set, in this order, gives the reason
[fields.reason.column_values]
CS_FURTIVE = {{ Y = "suspicious", N = "unknown" }}
CS_DRUGS = {{ Y = "investigative", N = "unknown" }}
"""


def export(tmp_path: Path, rows: list[list[str]], top: str = "") -> tuple[Path, Path]:
    path = tmp_path / "export.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    mapping = tmp_path / "quirks.toml"
    mapping.write_text(MAPPING.format(top=top))
    return path, mapping


ROWS = [
    # PCT, SER_NUM, DATE, ARREST, SUMMONS, FURTIVE, DRUGS
    ["1", "100", "01/05/2024", "Y", "Y", "Y", "Y"],
    ["2", "100", "01/06/2024", "N", "Y", "N", "Y"],  # same serial, other precinct
    ["1", "101", "02/07/2024", "N", "N", "N", "N"],
    ["3", "100", "02/09/2024", "N", "N", "Y", "N"],
]


def mapping_file(tmp_path: Path, name: str, fields: str) -> Path:
    """A stops mapping called ``name`` (its source too) with the ``fields`` given."""
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\nkind = "stops"\nsource = "{name}"\n' + fields)
    return path


def counts(engine: Engine, column: str) -> dict[str, int]:
    with engine.connect() as connection:
        found = connection.execute(text(f"SELECT {column}, COUNT(*) FROM stops GROUP BY {column}"))
        return {str(value): int(n) for value, n in found}


def test_ids_outcomes_and_reasons_from_several_columns(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path, mapping = export(tmp_path, ROWS)
    report = ingest_file(internal, public, "stops", path, load_mapping(mapping))

    assert (report.rows_read, report.rows_added) == (4, 4)
    assert report.by_month() == {"2024-01": 2, "2024-02": 2}
    assert counts(internal, "source_id") == {"1-100": 1, "2-100": 1, "1-101": 1, "3-100": 1}
    assert counts(internal, "outcome") == {"arrest": 1, "summons": 1, "none": 2}
    assert counts(internal, "reason") == {"suspicious": 2, "investigative": 1, "unknown": 1}
    recorded = recorded_by(load_mapping(mapping))
    assert recorded.fields["outcome"] == ("none", "summons", "arrest")


def test_a_stop_repeated_once_per_weapon_keeps_its_first_row(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    weapons = [*ROWS, ROWS[0], ROWS[0], ROWS[2]]  # stop 1-100 three times, 1-101 twice
    path, mapping = export(tmp_path, weapons, top='duplicates = "first"')
    report = ingest_file(internal, public, "stops", path, load_mapping(mapping))

    assert (report.rows_read, report.rows_repeated, report.rows_added) == (7, 3, 4)
    assert report.rows_rejected == 0 and report.rows_accepted == 4
    assert report.by_month() == {"2024-01": 2, "2024-02": 2}  # the copies are not counted
    assert counts(internal, "outcome") == {"arrest": 1, "summons": 1, "none": 2}
    assert any('as the mapping says (duplicates = "first")' in n for n in report.notes)


def test_without_a_duplicate_policy_repeated_ids_are_refused(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path, mapping = export(tmp_path, [*ROWS, ROWS[0]])
    with pytest.raises(IngestRefused, match="duplicate id inside the file"):
        ingest_file(internal, public, "stops", path, load_mapping(mapping))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('combine = "join"', 'combine = "any"'), "needs combine = one of join"),
        (('combine = "first"', 'combine = "join"'), "needs combine = one of any, most_severe"),
        (("ARREST_MADE = {", "ARREST = {"), "column_values names 'ARREST'"),
        (('{ Y = "arrest"', '{ Y = "arrested"'), "maps 'Y' to 'arrested'"),
    ],
)
def test_a_bad_several_column_rule_says_what_to_fix(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    mapping = tmp_path / "bad.toml"
    mapping.write_text(MAPPING.format(top="").replace(*change, 1))
    with pytest.raises(MappingError, match=message):
        load_mapping(mapping)


def test_an_unknown_duplicate_policy_is_refused(tmp_path: Path) -> None:
    mapping = tmp_path / "bad.toml"
    mapping.write_text(MAPPING.format(top='duplicates = "merge-all"'))
    with pytest.raises(MappingError, match="'duplicates' must be one of error, first"):
        load_mapping(mapping)


def test_a_date_and_a_time_column_that_both_carry_both(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path = tmp_path / "export.csv"
    path.write_text(
        "ID,STOP_DATE,STOP_TIME\n"
        "1,01/05/2024 00:00,12/30/1899 09:05\n"
        "2,02/29/2024 00:00,12/30/1899 23:59\n"
    )
    mapping = mapping_file(
        tmp_path,
        "two-parts",
        '[fields.source_id]\ncolumn = "ID"\n'
        '[fields.occurred_at]\ncolumns = ["STOP_DATE", "STOP_TIME"]\n'
        'take = ["date", "time"]\nformat = "%m/%d/%Y %H:%M"\n',
    )
    report = ingest_file(internal, public, "stops", path, load_mapping(mapping))

    assert report.rows_added == 2
    assert report.hour_counts == {"2024-01-05 09": 1, "2024-02-29 23": 1}
    bad = mapping.read_text().replace('take = ["date", "time"]', 'take = ["date"]')
    mapping.write_text(bad)
    with pytest.raises(MappingError, match="take must list, for each of its columns"):
        load_mapping(mapping)


def test_the_district_is_the_declared_parent_of_the_beat(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    mapping = mapping_file(
        tmp_path,
        "beats-only",
        '[fields.source_id]\ncolumn = "ID"\n'
        '[fields.occurred_at]\ncolumn = "WHEN"\n'
        '[fields.beat]\ncolumn = "BEAT"\n'
        '[fields.district]\nparent_of = "beat"\n',
    )
    path = tmp_path / "export.csv"
    path.write_text(
        "ID,WHEN,BEAT\n1,2024-01-05T10:00,d1b1\n2,2024-01-05T11:00,d1b2\n"
        "3,2024-01-06T11:00,d1b1\n4,2024-01-07T12:00,x9\n"
    )
    with pytest.raises(IngestRefused, match="no beats are declared: ingest the areas first"):
        ingest_file(internal, public, "stops", path, load_mapping(mapping))

    areas = write_csv(tmp_path / "areas.csv", AREAS_HEADER, small_city_rows())
    ingest_file(internal, public, "areas", areas, load_mapping("synthetic-areas"))
    ingest_file(internal, public, "stops", path, load_mapping(mapping))

    assert counts(internal, "district") == {"d1": 3, "unknown": 1}  # x9 is not declared


def test_a_file_without_ids_takes_its_name_and_line(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path = tmp_path / "2024-01-stop-and-search.csv"
    path.write_text(
        "Date,Outcome\n2024-01-05T10:00:00,Arrest\n2024-01-05T10:00:00,Arrest\n"
        "2024-01-09T18:30:00,Nothing found\n"
    )
    mapping = mapping_file(
        tmp_path,
        "no-ids",
        "[fields.source_id]\nfrom_line = true\n"
        '[fields.occurred_at]\ncolumn = "Date"\n'
        '[fields.outcome]\ncolumn = "Outcome"\n'
        'values = { Arrest = "arrest", "Nothing found" = "none" }\n',
    )
    first = ingest_file(internal, public, "stops", path, load_mapping(mapping))
    again = ingest_file(internal, public, "stops", path, load_mapping(mapping))

    assert counts(internal, "source_id") == {
        "2024-01-stop-and-search.csv:2": 1,
        "2024-01-stop-and-search.csv:3": 1,  # the same stop twice is two stops here
        "2024-01-stop-and-search.csv:4": 1,
    }
    assert (first.rows_added, again.rows_added, again.rows_already_present) == (3, 0, 3)
    mapping.write_text(mapping.read_text().replace("from_line = true", "from_line = 1"))
    with pytest.raises(MappingError, match="from_line: expected true or false, got a whole number"):
        load_mapping(mapping)


def test_a_code_table_read_from_a_lookup_file(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    (tmp_path / "outcomes.csv").write_text(
        "source value,canonical code\nArrest,arrest\nCommunity resolution,warning\n"
        "Nothing found,none\n"
    )
    mapping = mapping_file(
        tmp_path,
        "lookup",
        '[fields.source_id]\ncolumn = "ID"\n'
        '[fields.occurred_at]\ncolumn = "Date"\n'
        '[fields.outcome]\ncolumn = "Outcome"\nvalues_file = "outcomes.csv"\n'
        'values = { "Nothing found" = "unknown" }  # the mapping wins over the file\n',
    )
    path = tmp_path / "export.csv"
    path.write_text(
        "ID,Date,Outcome\n1,2024-01-05T10:00,Arrest\n2,2024-01-06T10:00,Community resolution\n"
        "3,2024-01-07T10:00,Nothing found\n"
    )
    loaded = load_mapping(mapping)
    ingest_file(internal, public, "stops", path, loaded)

    assert counts(internal, "outcome") == {"arrest": 1, "warning": 1, "unknown": 1}
    before = loaded.sha256
    (tmp_path / "outcomes.csv").write_text("value,code\nArrest,arrest\nArrest,summons\n")
    with pytest.raises(MappingError, match=r"'Arrest' is mapped twice in outcomes\.csv"):
        load_mapping(mapping)
    (tmp_path / "outcomes.csv").write_text("value,code\nArrest,summons\n")
    assert load_mapping(mapping).sha256 != before  # the lookup file is part of the mapping


VARIANTS = """
name = "two-layouts"
kind = "stops"
source = "two-layouts"

[fields.source_id]
column = "STOP_ID"

[fields.occurred_at]
column = "STOP_DATE"
format = "%m/%d/%Y"

[fields.outcome]
column = "OUTCOME"
values = { A = "arrest", N = "none" }

[[variants]]
name = "2017 and later"
when_header_has = ["STOP_FRISK_DATE"]
[variants.fields.occurred_at]
column = "STOP_FRISK_DATE"
format = "%Y-%m-%d"
[variants.fields.outcome]
column = "OUTCOME"
values = { ARREST = "arrest", NONE = "none", SUMMONS = "summons" }
"""


def test_a_layout_that_changed_between_files_is_read_by_its_variant(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    mapping = tmp_path / "two-layouts.toml"
    mapping.write_text(VARIANTS)
    old = tmp_path / "2016.csv"
    old.write_text("STOP_ID,STOP_DATE,OUTCOME\n1,12/30/2016,A\n2,12/31/2016,N\n")
    new = tmp_path / "2017.csv"
    new.write_text("STOP_ID,STOP_FRISK_DATE,OUTCOME\n3,2017-01-02,SUMMONS\n4,2017-01-03,NONE\n")

    first = ingest_file(internal, public, "stops", old, load_mapping(mapping))
    second = ingest_file(internal, public, "stops", new, load_mapping(mapping))

    assert first.by_month() == {"2016-12": 2} and second.by_month() == {"2017-01": 2}
    assert "read with the mapping's variant '2017 and later'" in second.notes
    assert not any("variant" in note for note in first.notes)
    assert counts(internal, "outcome") == {"arrest": 1, "none": 2, "summons": 1}
    profile = read_profile(public)
    assert profile is not None  # what any layout records: the variant's summons too
    assert profile.sources["stops"].fields["outcome"] == ("none", "summons", "arrest")


def test_a_referral_is_an_outcome_of_its_own(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path = tmp_path / "export.csv"
    path.write_text(
        "ID,Date,Outcome\n1,2024-01-05T10:00,Referred for prosecution\n2,2024-01-06T10:00,Arrest\n"
    )
    mapping = mapping_file(
        tmp_path,
        "referrals",
        '[fields.source_id]\ncolumn = "ID"\n'
        '[fields.occurred_at]\ncolumn = "Date"\n'
        '[fields.outcome]\ncolumn = "Outcome"\n'
        'values = { "Referred for prosecution" = "referral", Arrest = "arrest" }\n',
    )
    ingest_file(internal, public, "stops", path, load_mapping(mapping))
    assert counts(internal, "outcome") == {"referral": 1, "arrest": 1}


def test_declared_age_ranges_reach_the_bands_and_a_straddling_one_is_decided_in_the_mapping(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path = tmp_path / "export.csv"
    path.write_text(
        "ID,Date,Age range\n1,2024-01-05T10:00,18-24\n2,2024-01-05T10:00,25 to 34\n"
        "3,2024-01-05T10:00,over 34\n4,2024-01-05T10:00,10-17\n5,2024-01-05T10:00,65+\n"
    )
    mapping = tmp_path / "ages.toml"
    text = (
        'name = "ages"\nkind = "stops"\nsource = "ages"\n'
        '[fields.source_id]\ncolumn = "ID"\n'
        '[fields.occurred_at]\ncolumn = "Date"\n'
        '[fields.subject_age_band]\ncolumn = "Age range"\nnumeric = "age_range"\n'
    )
    mapping.write_text(text)
    refused = ingest_file(
        internal, public, "stops", path, load_mapping(mapping), dry_run=True
    ).problem_lines()
    assert refused == [
        "line 4, column 'Age range', value 'over 34': the age range 'over 34' straddles the "
        'bands 35_44 and 65_plus: map it in the mapping\'s values, to "unknown" or to the band '
        "you decide (the mapping then records that decision)"
    ]

    mapping.write_text(text + 'values = { "over 34" = "unknown" }\n')
    ingest_file(internal, public, "stops", path, load_mapping(mapping))
    assert counts(internal, "subject_age_band") == {
        "18_24": 1,
        "25_34": 1,
        "unknown": 1,
        "under_18": 1,
        "65_plus": 1,
    }


def test_a_blank_flag_leaves_the_outcome_unknown(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    rows = [
        ["1", "1", "01/05/2024", "", "N", "N", "N"],  # arrest not recorded, no summons
        ["1", "2", "01/05/2024", "", "Y", "N", "N"],  # a summons, whatever the arrest cell
    ]
    path, mapping = export(tmp_path, rows)
    # The field's values apply to every column; a column's own table adds to them.
    text = mapping.read_text().replace(
        'combine = "most_severe"', 'combine = "most_severe"\nvalues = { "" = "unknown" }'
    )
    mapping.write_text(text)
    ingest_file(internal, public, "stops", path, load_mapping(mapping))
    assert counts(internal, "outcome") == {"unknown": 1, "summons": 1}


def test_ids_that_restart_in_a_later_file_are_named(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path, mapping = export(tmp_path, ROWS)
    ingest_file(internal, public, "stops", path, load_mapping(mapping))
    restarted = [[*ROWS[0][:2], "01/05/2025", *ROWS[0][3:]], ROWS[1]]  # a new stop, an old id
    path, _ = export(tmp_path, restarted)
    report = ingest_file(internal, public, "stops", path, load_mapping(mapping))

    assert (report.rows_added, report.rows_already_present) == (0, 2)
    note = next(n for n in report.notes if "earlier batches stored with another time" in n)
    assert note.startswith("1 rows carry ids") and "id '1-100'" in note


def test_the_check_counts_what_an_ingest_keeps(tmp_path: Path) -> None:
    from privacy.ingest.check import check_file

    weapons = [*ROWS, ROWS[0], ROWS[0]]
    path, mapping = export(tmp_path, weapons, top='duplicates = "first"')
    report = check_file(load_mapping(mapping), path)

    assert (report.rows_read, report.repeated_ids, report.extra_id_rows) == (6, 1, 2)
    assert dict(report.per_month) == {"2024-01": 2, "2024-02": 2}  # the copies left out
    assert report.unmapped == {}  # every flag is in its column's own table
