"""Reference data (areas, focus areas) goes to the public store, checked as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from privacy.ingest import IngestRefused, ingest_file, load_mapping
from publishing.models import Area, FocusArea, FocusAreaBeat
from tests.canonical import AREAS_HEADER, small_city_rows, write_csv

FOCUS_HEADER = [
    "code",
    "name",
    "member_beats",
    "comparison_beats",
    "buffer_beats",
    "intervention_start",
    "intervention_end",
]


def load_areas(engines: tuple[Engine, Engine], path: Path):  # type: ignore[no-untyped-def]
    return ingest_file(*engines, "areas", path, load_mapping("synthetic-areas"))


def load_focus(engines: tuple[Engine, Engine], path: Path):  # type: ignore[no-untyped-def]
    return ingest_file(*engines, "focus-areas", path, load_mapping("synthetic-focus-areas"))


def count(engine: Engine, model: type) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def test_areas_load_once_then_update_in_place(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    rows = small_city_rows()
    first = load_areas(engines, write_csv(tmp_path / "a.csv", AREAS_HEADER, rows))
    rows[3]["population"] = "2500"
    second = load_areas(engines, write_csv(tmp_path / "b.csv", AREAS_HEADER, rows))

    assert (first.rows_added, second.rows_added) == (4, 0)
    assert (second.rows_updated, second.rows_already_present) == (1, 3)
    with engines[1].connect() as connection:
        assert (
            connection.execute(select(Area.population).where(Area.code == "d1b2")).scalar_one()
            == 2500
        )
    assert first.batch_id is not None  # the batch is logged in the internal store too


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"parent": "nowhere"},
            "line 4, column 'parent', value 'nowhere': a beat's parent "
            "must be a district; no area has code 'nowhere'",
        ),
        ({"parent": "city"}, "a beat's parent must be a district; 'city' is a city"),
        (
            {"boundary": '{"type": "Point", "coordinates": [0, 0]}'},
            "must be a GeoJSON Polygon or MultiPolygon geometry",
        ),
        (
            {"boundary": '{"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1]]]}'},
            "every ring needs at least 4 positions and must be closed",
        ),
        ({"level": "county"}, "code not known to the mapping for level"),
        (
            {"code": "d1b2"},
            "line 5, column 'code', value 'd1b2': duplicate area code (also on line 4)",
        ),
    ],
    ids=[
        "unknown parent",
        "wrong parent level",
        "not a polygon",
        "open ring",
        "bad level",
        "duplicate code",
    ],
)
def test_bad_areas_are_refused_whole(
    engines: tuple[Engine, Engine], tmp_path: Path, change: dict[str, str], message: str
) -> None:
    rows = small_city_rows()
    rows[2].update(change)  # line 4: beat d1b1
    path = write_csv(tmp_path / "areas.csv", AREAS_HEADER, rows)

    with pytest.raises(IngestRefused) as refused:
        load_areas(engines, path)
    assert message in str(refused.value)
    assert count(engines[1], Area) == 0


def focus_row(**changes: str) -> dict[str, str]:
    row = {
        "code": "fa1",
        "name": "Main Street",
        "member_beats": "d1b1",
        "comparison_beats": "d1b2",
        "buffer_beats": "",
        "intervention_start": "2024-07-01",
        "intervention_end": "",
    }
    row.update(changes)
    return row


def test_focus_areas_name_their_beats_by_role(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    load_areas(engines, write_csv(tmp_path / "a.csv", AREAS_HEADER, small_city_rows()))

    report = load_focus(engines, write_csv(tmp_path / "f.csv", FOCUS_HEADER, [focus_row()]))
    again = load_focus(engines, write_csv(tmp_path / "f.csv", FOCUS_HEADER, [focus_row()]))

    assert (report.rows_added, again.rows_added, again.rows_already_present) == (1, 0, 1)
    with engines[1].connect() as connection:
        roles = sorted(
            connection.execute(select(FocusAreaBeat.beat_code, FocusAreaBeat.role)).all()
        )
        start = connection.execute(select(FocusArea.intervention_start)).scalar_one()
    assert [tuple(r) for r in roles] == [("d1b1", "member"), ("d1b2", "comparison")]
    assert str(start) == "2024-07-01"


def test_focus_areas_need_areas_first(engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    with pytest.raises(IngestRefused, match="run `portal ingest areas FILE --mapping NAME` first"):
        load_focus(engines, write_csv(tmp_path / "f.csv", FOCUS_HEADER, [focus_row()]))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"member_beats": "d1b1;d9b9"}, "column 'member_beats', value 'd9b9': no beat has this"),
        ({"comparison_beats": "d1b1"}, "value 'd1b1': the beat is already a member beat"),
        ({"intervention_end": "2024-01-01"}, "the intervention ends before it starts"),
        ({"intervention_start": "July"}, "not a date in the format 'iso'"),
    ],
    ids=["unknown beat", "two roles", "ends before start", "bad date"],
)
def test_bad_focus_areas_are_refused(
    engines: tuple[Engine, Engine], tmp_path: Path, change: dict[str, str], message: str
) -> None:
    load_areas(engines, write_csv(tmp_path / "a.csv", AREAS_HEADER, small_city_rows()))

    with pytest.raises(IngestRefused) as refused:
        load_focus(engines, write_csv(tmp_path / "f.csv", FOCUS_HEADER, [focus_row(**change)]))
    assert message in str(refused.value)
    assert count(engines[1], FocusArea) == 0
