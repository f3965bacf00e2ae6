"""The synthetic city: canonical layout, consistency, determinism and its built-in effects."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from privacy import vocabulary as v
from privacy.schema import FieldType, fields_of
from privacy.synth import NOT_WRITTEN, CityManifest, generate_city
from privacy.synth.writer import write_stream

FILES = {
    "areas": "areas",
    "focus_areas": "focus-areas",
    "stops": "stops",
    "incidents": "incidents",
    "force": "force",
}
START = date(2023, 1, 1)
YEARS = 3

DEGREES = re.compile(r"-?\d+\.\d{6}")

Row = dict[str, str]
Box = tuple[float, float, float, float]  # west, south, east, north


def read(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


class City:
    """A generated city, its files read once."""

    def __init__(self, manifest: CityManifest) -> None:
        self.manifest = manifest
        self.areas = read(manifest.areas)
        self.focus = read(manifest.focus_areas)
        self.stops = read(manifest.stops)
        self.incidents = read(manifest.incidents)
        self.force = read(manifest.force)
        self.truth: dict[str, Any] = json.loads(manifest.truth.read_text(encoding="utf-8"))
        self.parent = {a["code"]: a["parent"] for a in self.areas}
        self.boxes = {a["code"]: bbox(json.loads(a["boundary"])) for a in self.areas}
        self.beats = [a["code"] for a in self.areas if a["level"] == "beat"]


def bbox(geometry: dict[str, Any]) -> Box:
    ring = geometry["coordinates"][0]
    lngs = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    return min(lngs), min(lats), max(lngs), max(lats)


def touching(a: Box, b: Box) -> bool:
    """Rectangles sharing at least an edge or a corner (or overlapping)."""
    return max(a[0], b[0]) <= min(a[2], b[2]) and max(a[1], b[1]) <= min(a[3], b[3])


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    out = tmp_path_factory.mktemp("city")
    manifest = generate_city(
        out,
        seed=7,
        start=START,
        years=YEARS,
        stops=20_000,
        incidents=12_000,
        force_events=400,
        chunk_rows=300,
    )
    return City(manifest)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> City:
    out = tmp_path_factory.mktemp("big")
    manifest = generate_city(
        out,
        seed=11,
        start=START,
        years=YEARS,
        stops=80_000,
        incidents=100_000,
        force_events=200,
    )
    return City(manifest)


def small(out: Path, seed: int) -> CityManifest:
    return generate_city(
        out, seed=seed, stops=4_000, incidents=2_000, force_events=100, chunk_rows=500
    )


# -- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    first, again, other = (
        small(tmp_path / name, seed) for name, seed in (("a", 3), ("b", 3), ("c", 4))
    )
    for name in (*FILES, "truth"):
        one = getattr(first, name).read_bytes()
        assert one == getattr(again, name).read_bytes(), name
    for name in ("areas", "stops", "incidents", "force"):
        assert getattr(first, name).read_bytes() != getattr(other, name).read_bytes(), name


def test_no_partial_files_left(city: City) -> None:
    assert not list(city.manifest.out_dir.glob("*.part"))


# -- layout ------------------------------------------------------------------------------


def test_headers_are_the_schema_fields(city: City) -> None:
    for name, kind in FILES.items():
        path = getattr(city.manifest, name)
        assert header(path) == [f.name for f in fields_of(kind) if f.name not in NOT_WRITTEN], name


def test_row_counts_are_as_requested(city: City) -> None:
    m = city.manifest
    assert (m.n_stops, m.n_incidents, m.n_force) == (20_000, 12_000, 400)
    assert (len(city.stops), len(city.incidents), len(city.force)) == (20_000, 12_000, 400)
    assert m.n_areas == len(city.areas) and m.n_focus_areas == len(city.focus) == 2
    assert city.truth["rows"] == {
        "areas": m.n_areas,
        "focus_areas": 2,
        "stops": 20_000,
        "incidents": 12_000,
        "force": 400,
    }


def test_csv_is_what_csv_writer_would_write(city: City) -> None:
    for path in (city.manifest.stops, city.manifest.incidents, city.manifest.areas):
        text = path.read_text(encoding="utf-8")
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(csv.reader(io.StringIO(text)))
        assert buffer.getvalue() == text, path.name


def test_cells_needing_quotes_fall_back_to_csv_writer(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    columns = [["a,b", "plain", ""], ['say "hi"', "x", "line\nbreak"]]
    assert write_stream(path, ["one", "two"], [columns], label="odd", total=3) == 3
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["one", "two"], ["a,b", 'say "hi"'], ["plain", "x"], ["", "line\nbreak"]]


def test_categorical_values_are_in_their_vocabularies(city: City) -> None:
    for name in ("stops", "incidents", "force"):
        rows = getattr(city, name)
        for f in (f for f in fields_of(FILES[name]) if f.name not in NOT_WRITTEN):
            if f.type is FieldType.CATEGORY:
                seen = {r[f.name] for r in rows}
                assert seen <= set(f.vocabulary), (name, f.name, seen - set(f.vocabulary))
                assert len(seen) > 1, (name, f.name)


def test_some_values_are_unknown_but_few(city: City) -> None:
    for column in ("subject_race", "subject_sex", "subject_age_band", "reason"):
        share = sum(r[column] == v.UNKNOWN for r in city.stops) / len(city.stops)
        assert 0.002 < share < 0.05, (column, share)
    share = sum(r["offense_category"] == v.UNKNOWN for r in city.incidents) / len(city.incidents)
    assert 0.002 < share < 0.05


def test_crime_against_follows_the_offense(city: City) -> None:
    for r in city.incidents:
        assert r["crime_against"] == v.CRIME_AGAINST_BY_OFFENSE[r["offense_category"]]


def test_offense_mix_is_plausible(city: City) -> None:
    counts = Counter(r["offense_category"] for r in city.incidents)
    part_one = [c for c in v.OFFENSE_CATEGORY if c not in ("other", v.UNKNOWN)]
    assert max(part_one, key=lambda c: counts[c]) == "larceny"
    assert counts["homicide"] < counts["robbery"] < counts["larceny"]


# -- areas and focus areas ---------------------------------------------------------------


def test_area_hierarchy(city: City) -> None:
    levels = [a["level"] for a in city.areas]
    assert levels[0] == "city" and city.areas[0]["code"] == "city"
    assert city.areas[0]["parent"] == ""
    assert levels == sorted(levels, key=["city", "district", "beat"].index)
    codes = [a["code"] for a in city.areas]
    assert len(codes) == len(set(codes))
    districts = [a for a in city.areas if a["level"] == "district"]
    assert 6 <= len(districts) <= 10 and all(d["parent"] == "city" for d in districts)
    assert len(city.beats) >= 6 * len(districts)
    population = {a["code"]: int(a["population"]) for a in city.areas}
    for d in districts:
        beats = [b for b in city.beats if city.parent[b] == d["code"]]
        assert beats and sum(population[b] for b in beats) == population[d["code"]]
    assert sum(population[d["code"]] for d in districts) == population["city"]


def test_boundaries_are_closed_polygons_that_tile(city: City) -> None:
    for a in city.areas:
        geometry = json.loads(a["boundary"])
        assert geometry["type"] == "Polygon"
        ring = geometry["coordinates"][0]
        assert len(ring) >= 4 and ring[0] == ring[-1]
        for lng, lat in ring:
            assert -180 <= lng <= 180 and -90 <= lat <= 90

    def area(box: Box) -> float:
        return (box[2] - box[0]) * (box[3] - box[1])

    for parent in [a["code"] for a in city.areas if a["level"] != "beat"]:
        children = [c for c, p in city.parent.items() if p == parent]
        outer = city.boxes[parent]
        for child in children:
            inner = city.boxes[child]
            assert outer[0] <= inner[0] and outer[1] <= inner[1]
            assert inner[2] <= outer[2] and inner[3] <= outer[3]
        assert sum(area(city.boxes[c]) for c in children) == pytest.approx(area(outer))


def test_focus_areas_are_well_formed(city: City) -> None:
    beats = set(city.beats)
    seen_comparison: set[str] = set()
    for fa in city.focus:
        members, comparison, buffers = (
            fa[k].split(";") for k in ("member_beats", "comparison_beats", "buffer_beats")
        )
        assert 2 <= len(members) <= 3 and 3 <= len(comparison) <= 4 and buffers
        assert set(members) | set(comparison) | set(buffers) <= beats
        assert not (
            set(members) & set(comparison)
            or set(members) & set(buffers)
            or set(comparison) & set(buffers)
            or set(comparison) & seen_comparison
        )
        seen_comparison |= set(comparison)
        for b in beats - set(members):
            near = any(touching(city.boxes[b], city.boxes[m]) for m in members)
            assert near == (b in buffers), b
        start = date.fromisoformat(fa["intervention_start"])
        assert start.day == 1 and start.month in (1, 4, 7, 10)
        assert START < start < date(START.year + YEARS, 1, 1)
        assert fa["intervention_end"] == ""


def test_focus_members_are_high_crime_and_comparisons_similar(big: City) -> None:
    per_beat = Counter(r["beat"] for r in big.incidents)
    median = sorted(per_beat[b] for b in big.beats)[len(big.beats) // 2]
    for fa in big.focus:
        members = fa["member_beats"].split(";")
        comparison = fa["comparison_beats"].split(";")
        member_mean = sum(per_beat[b] for b in members) / len(members)
        comparison_mean = sum(per_beat[b] for b in comparison) / len(comparison)
        assert all(per_beat[b] > median for b in members)
        assert 0.33 < comparison_mean / member_mean < 3


# -- records -----------------------------------------------------------------------------


def test_records_are_placed_consistently(city: City) -> None:
    for name in ("stops", "incidents", "force"):
        rows = getattr(city, name)
        missing = 0
        for r in rows:
            assert city.parent[r["beat"]] == r["district"]
            if r["lat"] == "":
                assert r["lng"] == ""
                missing += 1
                continue
            assert DEGREES.fullmatch(r["lat"]) and DEGREES.fullmatch(r["lng"])
            west, south, east, north = city.boxes[r["beat"]]
            assert west < float(r["lng"]) < east and south < float(r["lat"]) < north
        if name != "force":
            assert 0.005 < missing / len(rows) < 0.05


def test_ids_keys_and_times_are_well_formed(city: City) -> None:
    begin = datetime(START.year, START.month, START.day)
    end = datetime(START.year + YEARS, START.month, START.day)
    for name, prefix in (("stops", "S"), ("incidents", "I"), ("force", "F")):
        rows = getattr(city, name)
        ids = [r["source_id"] for r in rows]
        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(prefix + r"\d{8}", i) for i in ids)
        times = [r["occurred_at"] for r in rows]
        assert times == sorted(times)
        for stamp in (times[0], times[-1], times[len(times) // 2]):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", stamp)
            assert begin <= datetime.fromisoformat(stamp) < end
        if name != "incidents":
            assert all(re.fullmatch(r"P\d{7,}", r["person_key"]) for r in rows)
            assert all(re.fullmatch(r"O\d{4,}", r["officer_key"]) for r in rows)


def test_stop_flags_and_outcomes_are_consistent(city: City) -> None:
    for r in city.stops:
        if r["contraband_found"] == "yes":
            assert r["search_conducted"] == "yes"
    n = len(city.stops)
    searched = [r for r in city.stops if r["search_conducted"] == "yes"]
    hits = sum(r["contraband_found"] == "yes" for r in searched)
    assert 0.04 < len(searched) / n < 0.12
    assert 0.18 < hits / len(searched) < 0.38
    outcomes = Counter(r["outcome"] for r in city.stops)
    assert outcomes["arrest"] < outcomes["citation"] and outcomes["arrest"] / n < 0.12
    assert outcomes["none"] + outcomes["warning"] + outcomes["citation"] > 0.8 * n

    def search_rate(race: str) -> float:
        rows = [r for r in city.stops if r["subject_race"] == race]
        return sum(r["search_conducted"] == "yes" for r in rows) / len(rows)

    assert search_rate("black") > search_rate("white")


def test_people_recur_heavy_tailed_with_stable_traits(city: City) -> None:
    per_person = Counter(r["person_key"] for r in city.stops)
    assert sum(1 for c in per_person.values() if c == 1) > 0.5 * len(per_person)
    assert max(per_person.values()) >= 8
    races: dict[str, set[str]] = defaultdict(set)
    for r in city.stops:
        if r["subject_race"] != v.UNKNOWN:
            races[r["person_key"]].add(r["subject_race"])
    assert all(len(seen) == 1 for seen in races.values())
    stopped = set(per_person)
    assert any(r["person_key"] in stopped for r in city.force)


def test_force_is_rare_and_tied_to_arrests(city: City) -> None:
    flagged = [r for r in city.stops if r["use_of_force"] == "yes"]
    assert 0 < len(flagged) < 0.03 * len(city.stops)
    arrests = [r for r in city.stops if r["outcome"] == "arrest"]
    rate_arrest = sum(r["use_of_force"] == "yes" for r in arrests) / len(arrests)
    rate_other = (len(flagged) - rate_arrest * len(arrests)) / (len(city.stops) - len(arrests))
    assert rate_arrest > 5 * rate_other
    types = Counter(r["force_type"] for r in city.force)
    assert types.most_common(1)[0][0] == "bodily"
    assert types["firearm_discharged"] < types["taser"]


# -- the model's effects -----------------------------------------------------------------


def top_share(counts: Counter[str], beats: list[str]) -> float:
    values = sorted((counts[b] for b in beats), reverse=True)
    k = max(1, round(0.05 * len(beats)))
    return sum(values[:k]) / sum(values)


def test_crime_is_concentrated(city: City) -> None:
    share = top_share(Counter(r["beat"] for r in city.incidents), city.beats)
    assert 0.35 <= share <= 0.65
    concentration = city.truth["incidents"]["concentration"]
    assert concentration["realised"] == pytest.approx(share, abs=1e-6)
    assert 0.35 <= concentration["expected"] <= 0.65
    stops_share = top_share(Counter(r["beat"] for r in city.stops), city.beats)
    assert stops_share < share  # stops follow crime, less steeply


def per_year(rows: list[Row]) -> list[list[Row]]:
    years: list[list[Row]] = [[] for _ in range(YEARS)]
    for r in rows:
        years[int(r["occurred_at"][:4]) - START.year].append(r)
    return years


def test_stop_volumes_fall(city: City) -> None:
    counts = [len(rows) for rows in per_year(city.stops)]
    assert counts[-1] < counts[0]
    decline = city.truth["stops"]["annual_decline"]
    assert counts[-1] / counts[0] == pytest.approx((1 - decline) ** (YEARS - 1), abs=0.08)


def test_no_action_share_falls_as_stated(city: City) -> None:
    def no_action(rows: list[Row]) -> float:
        hits = sum(r["outcome"] == "none" and r["contraband_found"] != "yes" for r in rows)
        return hits / len(rows)

    shares = [no_action(rows) for rows in per_year(city.stops)]
    assert shares[0] > shares[-1] + 0.05
    stated = city.truth["stops"]["no_action_share"]
    assert stated["start"] > stated["end"]
    for year, share in enumerate(shares):
        middle = (year + 0.5) / YEARS
        expected = stated["start"] + (stated["end"] - stated["start"]) * middle
        assert share == pytest.approx(expected, abs=0.03), year


def test_crime_peaks_in_summer(city: City) -> None:
    months = Counter(int(r["occurred_at"][5:7]) for r in city.incidents)
    assert months[6] + months[7] + months[8] > 1.15 * (months[12] + months[1] + months[2])


def did(rows: list[Row], fa: Row, group: str) -> float:
    """(group after / before) relative to (comparison after / before)."""
    start = fa["intervention_start"]
    beats = {g: set(fa[f"{g}_beats"].split(";")) for g in ("member", "comparison", "buffer")}
    counts: Counter[tuple[str, bool]] = Counter()
    for r in rows:
        for g, members in beats.items():
            if r["beat"] in members:
                counts[g, r["occurred_at"][:10] >= start] += 1

    def ratio(g: str) -> float:
        return counts[g, True] / counts[g, False]

    return ratio(group) / ratio("comparison")


def test_focus_area_effects_are_recoverable(big: City) -> None:
    truth = {fa["code"]: fa for fa in big.truth["focus_areas"]}
    for fa in big.focus:
        effects = truth[fa["code"]]["effects"]
        assert effects["incidents_member"] < 1 and effects["stops_member"] < 1
        crime = did(big.incidents, fa, "member")
        assert crime < 0.95
        assert crime == pytest.approx(effects["incidents_member"], abs=0.1)
        assert did(big.stops, fa, "member") == pytest.approx(effects["stops_member"], abs=0.1)
        buffer = did(big.incidents, fa, "buffer")
        assert buffer == pytest.approx(effects["incidents_buffer"], abs=0.12)


def test_truth_describes_the_city(city: City) -> None:
    truth = city.truth
    assert truth["seed"] == 7
    parameters = truth["parameters"]
    assert (parameters["stops"], parameters["incidents"], parameters["force_events"]) == (
        20_000,
        12_000,
        400,
    )
    assert parameters["start"] == START.isoformat() and parameters["years"] == YEARS
    assert truth["incidents"]["seasonality_amplitude"] > 0
    assert 0 < truth["stops"]["annual_decline"] < 1
    by_code = {fa["code"]: fa for fa in city.focus}
    assert len(truth["focus_areas"]) == len(by_code)
    for fa in truth["focus_areas"]:
        row = by_code[fa["code"]]
        assert ";".join(fa["member_beats"]) == row["member_beats"]
        assert ";".join(fa["comparison_beats"]) == row["comparison_beats"]
        assert ";".join(fa["buffer_beats"]) == row["buffer_beats"]
        assert fa["intervention_start"] == row["intervention_start"]
        effects = fa["effects"]
        assert 0 < effects["incidents_member"] < 1 and 0 < effects["stops_member"] < 1
        assert effects["incidents_buffer"] >= 1
    realised = truth["stops"]["realised_by_year"]
    assert [y["stops"] for y in realised] == [len(rows) for rows in per_year(city.stops)]


# -- the API -----------------------------------------------------------------------------


def test_progress_is_reported_per_chunk(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    generate_city(
        tmp_path,
        stops=3_000,
        incidents=1_000,
        force_events=50,
        chunk_rows=400,
        progress=lambda label, done, total: calls.append((label, done, total)),
    )
    for label, total in (("stops", 3_000), ("incidents", 1_000), ("force", 50)):
        mine = [c for c in calls if c[0] == label]
        assert mine[0] == (label, 0, total) and mine[-1] == (label, total, total)
        done = [c[1] for c in mine]
        assert done == sorted(done) and len(mine) > 3
        assert all(b - a <= 400 for a, b in itertools.pairwise(done))


def test_other_start_dates_and_lengths(tmp_path: Path) -> None:
    start = date(2024, 2, 15)
    manifest = generate_city(
        tmp_path, start=start, years=1, stops=2_000, incidents=1_000, force_events=20
    )
    stops = read(manifest.stops)
    assert len(stops) == 2_000
    assert stops[0]["occurred_at"] >= "2024-02-15T00:00:00"
    assert stops[-1]["occurred_at"] < "2025-02-15T00:00:00"
    for fa in read(manifest.focus_areas):
        assert "2024-02-15" < fa["intervention_start"] < "2025-02-15"


def test_empty_files_and_bad_arguments(tmp_path: Path) -> None:
    manifest = generate_city(tmp_path, stops=0, incidents=0, force_events=0)
    assert read(manifest.stops) == [] and manifest.n_stops == 0
    assert header(manifest.stops) == [
        f.name for f in fields_of("stops") if f.name not in NOT_WRITTEN
    ]
    with pytest.raises(ValueError):
        generate_city(tmp_path, years=0)
    with pytest.raises(ValueError):
        generate_city(tmp_path, stops=-1)
