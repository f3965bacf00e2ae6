"""Characters the stores cannot hold are row errors, never a crash, on both stores.

PostgreSQL's text refuses NUL, and neither store can encode a lone surrogate. Every other
character must arrive exactly as it was in the file, through COPY's escaping too.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from portal.settings import Settings
from privacy.ingest import IngestRefused, ingest_file, load_mapping
from privacy.ingest.mapping import parse_mapping
from privacy.ingest.safety import NUL_REASON, SURROGATE_REASON
from tests.canonical import (
    AREAS_HEADER,
    STOP_HEADER,
    small_city_rows,
    stop_row,
    write_csv,
    write_stops,
)
from tests.test_ingest_records import store_snapshot

STOPS = load_mapping("synthetic-stops")
# Characters that COPY's text format or a driver could take for something else: kept in
# the middle of a cell, since cells are stripped of surrounding white space.
AWKWARD = [
    *(chr(n) for n in range(1, 32)),
    "\x7f",
    *(chr(n) for n in range(0x80, 0xA0)),
    "\\",
    "\\.",
    "\\N",
    "\\t",
    "\r\n",
    "\u2028",
    "\ufeff",
    "\uffff",
    "\U0010ffff",
    "\U0001f600",
    '"',
    "'",
]


def stored_keys(internal: Engine, batch_id: int | None = None) -> dict[str, tuple[str, str]]:
    """source_id -> (person_key, officer_key) of the stored stops."""
    query = "SELECT source_id, person_key, officer_key FROM stops"
    with internal.connect() as connection:
        return {
            row.source_id: (row.person_key, row.officer_key)
            for row in connection.execute(text(query))
        }


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker"])
def test_every_storable_character_arrives_as_it_was_and_nul_is_a_row_error(
    engines: tuple[Engine, Engine], tmp_path: Path, parallel: bool
) -> None:
    rows = [
        stop_row(n, person_key=f"p{ch}q", officer_key=f"o{ch}o") for n, ch in enumerate(AWKWARD)
    ]
    nul_at = len(rows)
    rows += [
        stop_row(nul_at, officer_key="O\x00x"),  # an optional key
        stop_row(nul_at + 1, source_id="S\x00001"),  # the id
        stop_row(nul_at + 2, person_key="\x00"),
    ]
    path = write_stops(tmp_path / "stops.csv", rows)
    before = store_snapshot(engines[0])

    with pytest.raises(IngestRefused) as refused:
        ingest_file(*engines, "stops", path, STOPS, parallel=parallel)

    message = str(refused.value)
    assert store_snapshot(engines[0]) == before
    written = path.read_bytes().decode("utf-8")
    nul_line = 1 + len(re.findall(r"\r\n|\r|\n", written[: written.index("O\x00x")]))
    assert f"column 'officer_key', value 'O\\x00x': {NUL_REASON}" in message
    assert f"column 'source_id', value 'S\\x00001': {NUL_REASON}" in message
    assert f"column 'person_key', value '\\x00': {NUL_REASON}" in message
    assert f"line {nul_line}, column 'officer_key'" in message

    report = ingest_file(*engines, "stops", path, STOPS, parallel=parallel, skip_invalid=True)

    assert (report.rows_added, report.rows_rejected) == (len(AWKWARD), 3)
    assert {p.reason for p in report.problems} == {NUL_REASON}
    expected = {stop_row(n)["source_id"]: (f"p{ch}q", f"o{ch}o") for n, ch in enumerate(AWKWARD)}
    assert stored_keys(engines[0]) == expected


def test_a_dry_run_reports_a_nul_instead_of_failing(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    path = write_stops(tmp_path / "stops.csv", [stop_row(1), stop_row(2, officer_key="a\x00")])

    report = ingest_file(*engines, "stops", path, STOPS, dry_run=True)

    assert (report.rows_accepted, report.rows_rejected) == (1, 1)
    assert [str(p) for p in report.problems] == [
        f"line 3, column 'officer_key', value 'a\\x00': {NUL_REASON}"
    ]


def test_a_lone_surrogate_from_the_decoder_is_a_row_error(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    # UTF-7 decodes "+2AA-" to a lone surrogate, U+D800, which has no UTF-8 form.
    document = {
        "name": "utf7-stops",
        "kind": "stops",
        "source": "utf7",
        "encoding": "utf-7",
        "fields": {name: {"column": name} for name in STOP_HEADER},
    }
    mapping = parse_mapping(document)
    path = write_stops(tmp_path / "stops.csv", [stop_row(1), stop_row(2, officer_key="x+2AA-y")])

    with pytest.raises(IngestRefused, match="line 3, column 'officer_key', value 'x\\\\ud800y'"):
        ingest_file(*engines, "stops", path, mapping)
    report = ingest_file(*engines, "stops", path, mapping, skip_invalid=True)

    assert (report.rows_added, report.rows_rejected) == (1, 1)
    assert [p.reason for p in report.problems] == [SURROGATE_REASON]


def test_a_nul_in_an_area_name_refuses_the_areas_file(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    rows = small_city_rows()
    rows[1]["name"] = "District\x001"
    path = write_csv(tmp_path / "areas.csv", AREAS_HEADER, rows)

    with pytest.raises(IngestRefused) as refused:
        ingest_file(*engines, "areas", path, load_mapping("synthetic-areas"))

    assert f"line 3, column 'name', value 'District\\x001': {NUL_REASON}" in str(refused.value)
    with engines[1].connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM areas")).scalar_one() == 0


def test_a_file_name_that_is_not_utf8_is_stored_escaped(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    path = write_stops(Path(os.fsdecode(bytes(tmp_path) + b"/stops-\xff.csv")), [stop_row(1)])

    report = ingest_file(*engines, "stops", path, STOPS)

    with engines[0].connect() as connection:
        stored = connection.execute(text("SELECT file_name FROM ingest_batches")).scalar_one()
    assert stored == report.file_name == "stops-\\xff.csv"


def test_bytes_the_decoder_cannot_escape_refuse_the_file(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    # A lone UTF-16 surrogate: its bytes (0x00 0xD8) cannot be kept by surrogateescape.
    document = {
        "name": "utf16-stops",
        "kind": "stops",
        "source": "utf16",
        "encoding": "utf-16-le",
        "fields": {name: {"column": name} for name in STOP_HEADER},
    }
    path = write_stops(tmp_path / "stops.csv", [stop_row(1), stop_row(2)])
    text_ = path.read_text()
    path.write_bytes(text_.encode("utf-16-le").replace("S000002".encode("utf-16-le"), b"\x00\xd8"))

    with pytest.raises(IngestRefused, match="bytes that are not valid utf-16-le"):
        ingest_file(*engines, "stops", path, parse_mapping(document))


def run_portal(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``portal`` command in a process of its own, on ``settings``' stores."""
    env = {
        **os.environ,
        "PORTAL_DATA_DIR": str(settings.data_dir),
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
        "COLUMNS": "250",
    }
    portal = Path(sys.executable).parent / "portal"
    return subprocess.run(
        [str(portal), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_command_refuses_a_nul_with_status_2_and_no_traceback(
    settings: Settings, engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    path = write_stops(tmp_path / "stops.csv", [stop_row(1), stop_row(2, officer_key="O\x00x")])
    args = ("ingest", "stops", str(path), "--mapping", "synthetic-stops")

    refused = run_portal(settings, *args)

    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr
    assert f"line 3, column 'officer_key', value 'O\\x00x': {NUL_REASON}" in refused.stderr
    assert store_snapshot(engines[0])["stops"] == 0

    skipped = run_portal(settings, *args, "--skip-invalid")

    assert skipped.returncode == 0, skipped.stderr
    assert "Traceback" not in skipped.stderr
    assert "1 rejected" in skipped.stdout
    assert store_snapshot(engines[0])["stops"] == 1
