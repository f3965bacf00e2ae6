"""`portal mapping draft` and `portal mapping check`: a first mapping for an export, and
what a mapping makes of a file before anything is ingested."""

from __future__ import annotations

import csv
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from portal.cli import cli
from privacy.ingest.check import check_file
from privacy.ingest.draft import draft_file
from privacy.ingest.mapping import load_mapping
from privacy.ingest.suggest import suggest_code
from privacy.schema import fields_of

# The shared data sit beside the project's root (or beside the checkout a worktree is in).
_ROOT = Path(__file__).resolve().parents[1]
_CANDIDATES = [
    up / "shared/data/minneapolis/mpls_stops_2017.csv" for up in (_ROOT.parent, _ROOT.parents[1])
]
MPLS_STOPS = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
HEADER = ["STOP_ID", "STOP_DATE", "SUSPECT_RACE", "SUSPECT_SEX", "SEARCHED", "OUTCOME", "PCT"]
ROWS = [
    ["A1", "1/5/2023", "BLACK", "MALE", "Y", "ARREST", "001"],
    ["A2", "1/17/2023", "WHITE", "FEMALE", "N", "NO ACTION", "002"],
    ["A3", "2/3/2023", "WHITE HISPANIC", "MALE", "N", "SUMMONS", "001"],
    ["A3", "3/14/2023", "BLACK", "MALE", "N", "NO ACTION", "002"],
    ["A5", "12/31/2023", "BLACK", "FEMALE", "Y", "ARREST", "001"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def portal(tmp_path: Path, *args: str) -> Result:
    env = {
        "PORTAL_DATA_DIR": str(tmp_path / "var"),
        "COLUMNS": "250",
        "PORTAL_INTERNAL_DB_URL": "",
        "PORTAL_PUBLIC_DB_URL": "",
    }
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def value_lines(text: str, name: str) -> dict[str, str]:
    """The lines of the draft's [fields.NAME.values] table, by source value."""
    block = text.split(f"[fields.{name}.values]\n", 1)[1].split("\n\n", 1)[0]
    return {line.split(" = ", 1)[0].strip('"'): line for line in block.splitlines()}


def test_a_draft_guesses_columns_codes_and_the_date_format(tmp_path: Path) -> None:
    export = write_csv(tmp_path / "dept.csv", HEADER, ROWS)
    out = tmp_path / "dept.toml"

    result = portal(tmp_path, "mapping", "draft", str(export), "--kind", "stops", "--out", str(out))

    assert result.exit_code == 0, result.output
    mapping = load_mapping(out)
    rules = {rule.target.name: rule for rule in mapping.rules}
    assert rules["source_id"].columns == ("STOP_ID",)
    assert (rules["occurred_at"].columns, rules["occurred_at"].format) == (
        ("STOP_DATE",),
        "%m/%d/%Y",
    )
    assert rules["district"].columns == ("PCT",)
    assert rules["subject_race"].values == {
        "BLACK": "black",
        "WHITE": "white",
        "WHITE HISPANIC": "hispanic",
    }
    assert rules["subject_sex"].values == {"MALE": "male", "FEMALE": "female"}
    assert rules["search_conducted"].values == {"Y": "yes", "N": "no"}
    assert rules["outcome"].values == {
        "ARREST": "arrest",
        "NO ACTION": "none",
        "SUMMONS": "summons",
    }
    assert rules["frisk_performed"].columns == ()  # no column: left out, commented
    text = out.read_text()
    assert "# [fields.frisk_performed]" in text
    races = value_lines(text, "subject_race")
    assert races["BLACK"].endswith("# suggested; 3 rows")
    assert races["WHITE HISPANIC"].endswith("# suggested; 1 row")
    assert value_lines(text, "search_conducted")["N"].endswith("# suggested; 3 rows")
    assert re.search(r"^# SEARCHED: coded, 2 distinct values$", text, re.M)
    assert re.search(r"^#   STOP_DATE: date/time, 5 distinct values$", text, re.M)
    # The repeated id is named in the draft and in the summary.
    assert "1 id of 'STOP_ID' repeats (1 extra row; for example \"A3\")" in text
    assert "ids: 1 repeated (rows with an id seen before: 1)" in result.output
    assert "warning: 1 id of 'STOP_ID' repeats" in result.output


def test_a_draft_refuses_to_choose_between_day_and_month(tmp_path: Path) -> None:
    rows = [
        [f"B{i}", day, "BLACK", "MALE", "N", "ARREST", "001"]
        for i, day in enumerate(["1/5/2023", "3/4/2023", "12/11/2023", "2/2/2023"])
    ]
    export = write_csv(tmp_path / "ambiguous.csv", HEADER, rows)

    draft, unreadable = draft_file(export, "stops")

    assert unreadable == 0
    assert draft.date_format is None
    assert draft.date_readings == ["%m/%d/%Y", "%d/%m/%Y"]
    assert '#   format = "%m/%d/%Y"    # "1/5/2023" is 2023-01-05' in draft.text
    assert '#   format = "%d/%m/%Y"    # "1/5/2023" is 2023-05-01' in draft.text
    assert any("%m/%d/%Y or %d/%m/%Y" in w for w in draft.warnings)
    fmt = tomllib.loads(draft.text)["fields"]["occurred_at"]["format"]
    assert fmt == "CHOOSE ONE: %m/%d/%Y or %d/%m/%Y"  # not one of them: the check fails loud

    result = portal(
        tmp_path,
        "mapping",
        "draft",
        str(export),
        "--kind",
        "stops",
        "--out",
        str(tmp_path / "a.toml"),
    )
    assert "warning: the dates of 'STOP_DATE' read as %m/%d/%Y or %d/%m/%Y" in result.output


def test_formats_that_read_every_value_alike_are_not_ambiguous(tmp_path: Path) -> None:
    rows = [[f"C{i}", day, "", "", "", "", ""] for i, day in enumerate(["1/1/2023", "2/2/2023"])]
    draft, _ = draft_file(write_csv(tmp_path / "same.csv", HEADER, rows), "stops")

    assert (draft.date_format, draft.date_readings) == ("%m/%d/%Y", [])


def test_suggested_codes() -> None:
    flags = ("yes", "no", "unknown")
    assert [suggest_code(x, flags) for x in ("Y", "n", "TRUE", "0", "", "maybe")] == [
        "yes",
        "no",
        "yes",
        "no",
        "unknown",
        "unknown",
    ]
    sex = ("female", "male", "other", "unknown")
    assert [suggest_code(x, sex) for x in ("F", "Male", "femal")] == ["female", "male", "female"]


def test_a_draft_for_the_minneapolis_stops_loads_and_reads_every_row(tmp_path: Path) -> None:
    if not MPLS_STOPS.exists():
        pytest.skip(f"the shared data file {MPLS_STOPS} is absent (a fresh clone has none)")
    draft, unreadable = draft_file(MPLS_STOPS, "stops")
    path = tmp_path / "mpls.toml"
    path.write_text(draft.text, encoding="utf-8")

    mapping = load_mapping(path)

    assert (draft.rows, unreadable, draft.repeated_ids) == (51_920, 0, 0)
    assert draft.guesses["source_id"] == ("idNum",)
    assert draft.guesses["occurred_at"] == ("date",)
    assert draft.guesses["search_conducted"] == ("personSearch", "vehicleSearch")
    assert draft.date_format == "iso"
    rules = {rule.target.name: rule for rule in mapping.rules}
    assert rules["subject_race"].values["Black"] == "black"
    assert rules["subject_race"].values[""] == "unknown"
    assert rules["beat"].transform == "slug"
    assert {f.name for f in fields_of("stops")} == set(rules)
    report = check_file(mapping, MPLS_STOPS)
    assert (report.rows_read, report.rows_accepted) == (51_920, 51_920)
    assert sum(report.per_month.values()) == 51_920


CHECK_MAPPING = """
name = "checked"
kind = "stops"
source = "checked"

[fields.source_id]
column = "id"

[fields.occurred_at]
column = "when"
format = "%Y-%m-%d"

[fields.subject_race]
column = "race"
values = { B = "black" }
fallback = "unknown"

[fields.outcome]
column = "result"
values = { ARREST = "arrest", NONE = "none" }
"""
CHECK_ROWS = [
    ["1", "2023-01-05", "ARREST", "B"],
    ["2", "2023-01-20", "NONE", "[red]W[/red]"],
    ["3", "2023-02-01", "CITED", "B"],
    ["4", "2023-02-30", "NONE", "B"],
    ["5", "2023-03-03", "CITED", "X"],
    ["6", "2023-03-04", "ARREST", "B"],
    ["7", "2023-03-31", "CITED", "B"],
]


def test_check_counts_months_unmapped_codes_and_rejections(tmp_path: Path) -> None:
    mapping = tmp_path / "checked.toml"
    mapping.write_text(CHECK_MAPPING)
    export = write_csv(tmp_path / "export.csv", ["id", "when", "result", "race"], CHECK_ROWS)

    result = portal(tmp_path, "mapping", "check", str(mapping), str(export), "--kind", "stops")

    assert result.exit_code == 1, result.output  # some rows would be rejected
    output = result.output
    assert "7 rows read, 3 accepted, 4 rejected" in output
    months = dict(re.findall(r"│ (\d{4}-\d\d)\s*│\s*([\d,]+)\s*│", output))
    assert months == {"2023-01": "2", "2023-03": "1"}
    assert "outcome (column result): rows rejected\n    'CITED': 3 rows\n" in output
    assert "subject_race (column race): read as 'unknown' (fallback)\n" in output
    assert "    '[red]W[/red]': 1 row\n" in output  # printed as written, not as markup
    assert "    'X': 1 row\n" in output
    assert re.search(
        r"  3 rows: outcome, column 'result': code not known to the mapping for outcome; .*"
        r"\(values 'CITED'; lines 4, 6, 8\)\n",
        output,
    )
    assert (
        "  1 row: occurred_at, column 'when': not a date in the format '%Y-%m-%d' "
        "(values '2023-02-30'; lines 5)\n"
    ) in output


def test_check_prints_mapping_errors_as_written(tmp_path: Path) -> None:
    mapping = tmp_path / "bad.toml"
    mapping.write_text(CHECK_MAPPING.replace('NONE = "none"', 'NONE = "nothing"'))
    export = write_csv(tmp_path / "export.csv", ["id", "when", "result", "race"], CHECK_ROWS)

    result = portal(tmp_path, "mapping", "check", str(mapping), str(export))

    assert result.exit_code == 2
    assert "[fields.outcome] maps 'NONE' to 'nothing', which is not one of:" in result.output


def test_check_refuses_a_mapping_of_another_kind_and_a_missing_column(tmp_path: Path) -> None:
    mapping = tmp_path / "checked.toml"
    mapping.write_text(CHECK_MAPPING)
    export = write_csv(tmp_path / "export.csv", ["id", "when", "outcome", "race"], CHECK_ROWS)

    other_kind = portal(tmp_path, "mapping", "check", str(mapping), str(export), "--kind", "force")
    no_column = portal(tmp_path, "mapping", "check", str(mapping), str(export))

    assert other_kind.exit_code == 2
    assert "mapping 'checked' is for stops, not force" in other_kind.output
    assert no_column.exit_code == 2
    assert "lacks columns that mapping 'checked' reads: 'result'" in no_column.output


def test_a_clean_check_exits_zero(tmp_path: Path) -> None:
    mapping = tmp_path / "checked.toml"
    mapping.write_text(CHECK_MAPPING)
    export = write_csv(tmp_path / "export.csv", ["id", "when", "result", "race"], CHECK_ROWS[:2])

    result = portal(tmp_path, "mapping", "check", str(mapping), str(export))

    assert result.exit_code == 0, result.output
    assert "2 rows read, 2 accepted, 0 rejected" in result.output
    assert "Rejected rows" not in result.output


def test_a_draft_of_a_file_without_rows_does_not_claim_a_date_format(tmp_path: Path) -> None:
    draft, _ = draft_file(write_csv(tmp_path / "empty.csv", ["id", "date"], []), "incidents")

    assert draft.date_format is None
    assert "'date' holds no dates to read a format from" in draft.warnings
    assert draft.guesses["source_id"] == ("id",)


@pytest.mark.parametrize(
    ("name", "kind", "read", "accepted"),
    [
        ("minneapolis/mpls_police_incidents_2017.csv", "incidents", 14_109, 14_109),
        ("minneapolis/mpls_police_use_of_force.csv", "force", 12_925, 12_925),
        # Two rows without a date and one ragged row: rejected, as they should be.
        ("oakland-opp-excerpt/ca_oakland_2020_04_01_SHORT.csv", "stops", 98, 95),
    ],
)
def test_a_draft_of_each_real_file_is_accepted_by_the_check(
    tmp_path: Path, name: str, kind: str, read: int, accepted: int
) -> None:
    real = MPLS_STOPS.parents[1] / name
    if not real.exists():
        pytest.skip(f"the shared data file {real} is absent (a fresh clone has none)")
    draft, _ = draft_file(real, kind)
    path = tmp_path / "draft.toml"
    path.write_text(draft.text, encoding="utf-8")

    report = check_file(load_mapping(path), real)

    assert (report.rows_read, report.rows_accepted) == (read, accepted)
    assert sum(report.per_month.values()) == accepted


def test_a_few_bad_dates_do_not_hide_the_format(tmp_path: Path) -> None:
    export = tmp_path / "stops.csv"
    lines = ["STOP_ID,STOP_DATE"] + [f"S{n},{1 + n % 12}/{1 + n % 28}/2024" for n in range(300)]
    lines[40] = "S39,13/45/2024"  # one value that is no date at all
    export.write_text("\n".join(lines) + "\n")

    draft, _ = draft_file(export, "stops")
    path = tmp_path / "draft.toml"
    path.write_text(draft.text, encoding="utf-8")

    assert draft.date_format == "%m/%d/%Y"
    assert "1 values of 'STOP_DATE' are not dates in '%m/%d/%Y'" in " ".join(draft.warnings)
    report = check_file(load_mapping(path), export)
    assert (report.rows_read, report.rows_accepted) == (300, 299)


@pytest.mark.parametrize(
    ("ages", "suggested"),
    [
        ([str(18 + n % 60) for n in range(199)] + ["abc"], 'numeric = "age_band"'),
        (["18-24", "25-34", "35-44", "over 64", "10-17", ""] * 20, 'numeric = "age_range"'),
        # data.police.uk's ranges are a vocabulary of their own ("over 34" is no US band)
        (["18-24", "25-34", "over 34", "10-17", ""] * 20, 'vocabulary = "uk-age-ranges"'),
    ],
)
def test_an_age_column_is_read_as_ages_or_ranges(
    tmp_path: Path, ages: list[str], suggested: str
) -> None:
    export = tmp_path / "stops.csv"
    rows = [f"S{n},2024-01-0{1 + n % 9},{age}" for n, age in enumerate(ages)]
    export.write_text("\n".join(["STOP_ID,STOP_DATE,AGE", *rows]) + "\n")

    draft, _ = draft_file(export, "stops")
    path = tmp_path / "draft.toml"
    path.write_text(draft.text, encoding="utf-8")

    assert suggested in draft.text
    mapping = load_mapping(path)
    rule = next(r for r in mapping.rules if r.target.name == "subject_age_band")
    if suggested.startswith("numeric"):
        assert rule.numeric == suggested.split('"')[1]
    else:
        assert rule.target.declared == "uk-age-ranges" and rule.numeric is None
    assert check_file(mapping, export).rows_accepted == len(ages)
