"""Coordinates an export gives in a projection (Chicago's crimes come as X and Y in Illinois
East state plane feet) are stored as degrees; a wrong projection, or feet read as degrees,
is refused rather than stored as a place somewhere else."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pyproj import Transformer
from sqlalchemy import Engine, text

from privacy.ingest import IngestRefused, ingest_file, load_mapping
from privacy.ingest.check import check_file
from privacy.ingest.draft import draft_file
from privacy.ingest.mapping import SHIPPED_DIR, MappingError
from tests.conftest import shared_file

ILLINOIS_EAST = "EPSG:3435"  # NAD83 / Illinois East (ftUS)
# Places in Chicago, in degrees: (longitude, latitude).
PLACES = [(-87.6298, 41.8781), (-87.7, 41.95), (-87.6, 41.75), (-87.75, 41.88)]
ROWS = 2_500  # more than a chunk, so the column path and the row path both run


def mapping(tmp_path: Path, lat: str, lng: str) -> Path:
    path = tmp_path / "chicago.toml"
    path.write_text(
        'name = "chicago"\nkind = "incidents"\nsource = "chicago"\n'
        '[fields.source_id]\ncolumn = "ID"\n'
        '[fields.occurred_at]\ncolumn = "Date"\nformat = "%m/%d/%Y %I:%M:%S %p"\n'
        f"[fields.lat]\n{lat}\n[fields.lng]\n{lng}\n"
    )
    return path


PROJECTED = f'columns = ["X Coordinate", "Y Coordinate"]\nprojection = "{ILLINOIS_EAST}"'


def export(tmp_path: Path, points: list[tuple[str, str]]) -> Path:
    path = tmp_path / "crimes.csv"
    lines = ["ID,Date,X Coordinate,Y Coordinate"]
    lines += [f"{i},01/{13 + i % 9}/2024 10:15:00 PM,{x},{y}" for i, (x, y) in enumerate(points)]
    path.write_text("\n".join(lines) + "\n")
    return path


def feet(places: list[tuple[float, float]]) -> list[tuple[str, str]]:
    """Places in degrees as the export writes them: state plane feet, to a hundredth."""
    forward = Transformer.from_crs("EPSG:4326", ILLINOIS_EAST, always_xy=True)
    return [(f"{x:.2f}", f"{y:.2f}") for x, y in (forward.transform(*p) for p in places)]


def stored(engine: Engine) -> dict[str, tuple[float | None, float | None]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT source_id, lng, lat FROM incidents"))
        return {str(i): (lng, lat) for i, lng, lat in rows}


@pytest.mark.parametrize("parallel", [False, True], ids=["in-process", "worker"])
def test_state_plane_feet_are_stored_as_degrees(
    engines: tuple[Engine, Engine], tmp_path: Path, parallel: bool
) -> None:
    internal, public = engines
    places = [PLACES[i % len(PLACES)] for i in range(ROWS)]
    points = feet(places)
    points[1_234] = ("", "")  # no point recorded: stored without one
    path = export(tmp_path, points)

    report = ingest_file(
        internal,
        public,
        "incidents",
        path,
        load_mapping(mapping(tmp_path, PROJECTED, PROJECTED)),
        parallel=parallel,
    )

    assert report.rows_accepted == ROWS and report.rows_rejected == 0
    found = stored(internal)
    assert found.pop("1234") == (None, None)
    for key, (lng, lat) in found.items():
        want_lng, want_lat = places[int(key)]
        # A hundredth of a foot is about 3e-8 degrees.
        assert lng == pytest.approx(want_lng, abs=1e-6)
        assert lat == pytest.approx(want_lat, abs=1e-6)


def test_a_wrong_projection_is_refused_with_the_point_and_the_system(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path = export(tmp_path, feet(PLACES))
    massachusetts = PROJECTED.replace(ILLINOIS_EAST, "EPSG:2249")

    with pytest.raises(IngestRefused) as refused:
        ingest_file(
            internal,
            public,
            "incidents",
            path,
            load_mapping(mapping(tmp_path, *[massachusetts] * 2)),
        )

    message = str(refused.value)
    assert "4 of 4 rows are invalid" in message
    assert "column 'X Coordinate+Y Coordinate'" in message
    assert "not a point of EPSG:2249 (NAD83 / Massachusetts Mainland (ftUS))" in message
    assert stored(internal) == {}


def test_feet_read_as_degrees_are_refused(engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    internal, public = engines
    path = export(tmp_path, feet(PLACES))
    plain = mapping(tmp_path, 'column = "Y Coordinate"', 'column = "X Coordinate"')

    with pytest.raises(IngestRefused, match=r"lat outside -90\.\.90 degrees; .* projection"):
        ingest_file(internal, public, "incidents", path, load_mapping(plain))


def test_a_point_with_one_coordinate_is_refused(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    x, _ = feet(PLACES)[0]
    path = export(tmp_path, [(x, "")])

    with pytest.raises(IngestRefused, match="a point needs both its easting and its northing"):
        ingest_file(
            internal, public, "incidents", path, load_mapping(mapping(tmp_path, *[PROJECTED] * 2))
        )


@pytest.mark.parametrize(
    ("lat", "lng", "message"),
    [
        (
            PROJECTED.replace(ILLINOIS_EAST, "EPSG:99999"),
            PROJECTED,
            r"\[fields\.lat\] projection 'EPSG:99999' is not known; name it by its EPSG code",
        ),
        (
            PROJECTED.replace(ILLINOIS_EAST, "EPSG:4326"),
            PROJECTED,
            r"'EPSG:4326' \(WGS 84\) is not a projected system: coordinates in degrees",
        ),
        (
            PROJECTED,
            'column = "X Coordinate"',
            r"\[fields\.lat\] and \[fields\.lng\] read one point: with a projection, both",
        ),
        (
            'column = "Y Coordinate"\nprojection = "EPSG:3435"',
            PROJECTED,
            r"\[fields\.lat\] projection is for lat and lng read from two columns",
        ),
    ],
)
def test_a_projection_that_cannot_be_used_says_what_to_write(
    tmp_path: Path, lat: str, lng: str, message: str
) -> None:
    with pytest.raises(MappingError, match=message):
        load_mapping(mapping(tmp_path, lat, lng))


def test_minneapolis_web_mercator_x_and_y_agree_with_its_own_degrees(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    """Minneapolis's incidents give each place twice: Lat and Long, and X and Y in web
    Mercator. Read from X and Y, the stored degrees are the file's own to within a metre."""
    internal, public = engines
    real = shared_file("minneapolis", "mpls_police_incidents_2017.csv")
    shipped = (SHIPPED_DIR / "minneapolis-incidents.toml").read_text()
    projected = 'columns = ["X", "Y"]\nprojection = "EPSG:3857"'
    rewritten = shipped.replace('column = "Lat"', projected).replace('column = "Long"', projected)
    assert rewritten.count("EPSG:3857") == 2
    path = tmp_path / "mpls-xy.toml"
    path.write_text(rewritten)

    report = ingest_file(internal, public, "incidents", real, load_mapping(path))

    with real.open(encoding="utf-8-sig", newline="") as handle:
        given = {
            row["ControlNbr"]: (float(row["Long"]), float(row["Lat"]))
            for row in csv.DictReader(handle)
        }
    found = stored(internal)
    assert report.rows_accepted == len(found) == len(given) > 14_000
    worst = max(
        max(abs(lng - given[key][0]), abs(lat - given[key][1]))
        for key, (lng, lat) in found.items()
        if lng is not None and lat is not None
    )
    assert worst < 1e-5  # a hundred-thousandth of a degree is about a metre


def test_a_draft_names_the_easting_and_the_northing_and_asks_for_their_system(
    tmp_path: Path,
) -> None:
    path = export(tmp_path, feet(PLACES))

    draft, _ = draft_file(path, "incidents")

    assert draft.text.count('columns = ["X Coordinate", "Y Coordinate"]') == 2
    assert draft.text.count('projection = "EPSG:CHOOSE"') == 2
    assert any("look like coordinates in a projection" in w for w in draft.warnings)
    chosen = tmp_path / "drafted.toml"
    chosen.write_text(draft.text.replace("EPSG:CHOOSE", ILLINOIS_EAST))
    checked = check_file(load_mapping(chosen), path)
    assert checked.rows_rejected == 0 and checked.rows_read == len(PLACES)
