"""Ingest public reference data (areas, focus areas) into the public store.

Reference files are small (hundreds of rows), so they are read whole, checked as a whole
(every parent exists, levels nest, boundaries are GeoJSON, focus-area beats are beats) and
written in one transaction: added, updated or unchanged by code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from privacy.ingest.convert import HeaderError, RowConverter
from privacy.ingest.mapping import Mapping
from privacy.ingest.reader import FileProblem
from privacy.ingest.report import IngestRefused, IngestReport, Problem, file_label
from privacy.ingest.rows import converted_chunks
from privacy.schema import POPULATION_GROUPS
from publishing.models import Area, FocusArea, FocusAreaBeat

_PARENT_LEVEL = {"district": "city", "beat": "district"}
_GEOMETRIES = ("Polygon", "MultiPolygon")


def ingest_reference(
    public_engine: Engine, mapping: Mapping, path: Path, *, dry_run: bool = False
) -> IngestReport:
    """Validate and (unless ``dry_run``) write areas or focus areas. All or nothing."""
    report = IngestReport(
        kind=mapping.kind,
        mapping=mapping.name,
        file_name=file_label(path),
        dry_run=dry_run,
        skip_invalid=False,
    )
    records = _read_all(mapping, path, report)
    with public_engine.connect() as connection:
        transaction = connection.begin()
        try:
            if mapping.kind == "areas":
                records += [_extra_area(a) for a in mapping.extra_areas]
                if mapping.extra_areas:
                    report.notes.append(
                        f"{len(mapping.extra_areas)} more areas are declared in "
                        "the mapping itself (extra_areas)"
                    )
                _check_areas(connection, records, report)
            else:
                _check_focus_areas(connection, records, report)
            if report.problem_count:
                raise IngestRefused(_refusal(report), report)
            if mapping.kind == "areas":
                _write_areas(connection, records, report)
            else:
                _write_focus_areas(connection, records, report)
            if dry_run:
                transaction.rollback()
                return report
            transaction.commit()
        except BaseException:
            if transaction.is_active:
                transaction.rollback()
            raise
    report.committed = True
    return report


def _read_all(mapping: Mapping, path: Path, report: IngestReport) -> list[dict[str, Any]]:
    try:
        source = mapping.open(path)
    except FileProblem as error:
        raise IngestRefused(str(error), report) from None
    records: list[dict[str, Any]] = []
    with source:
        try:
            converter = RowConverter(mapping, source.header)
        except HeaderError as error:
            raise IngestRefused(f"{report.file_name}: {error}", report) from None
        names = ("line", *converter.field_names)
        try:
            for chunk in converted_chunks(source, converter, report):
                records.extend(dict(zip(names, row, strict=True)) for row in chunk.rows())
        except FileProblem as problem:
            raise IngestRefused(str(problem), report) from None
    if report.rows_read == 0 and not mapping.extra_areas:
        raise IngestRefused(
            f"{report.file_name} has a header but no data rows; nothing to ingest", report
        )
    return records


def _extra_area(area: dict[str, str]) -> dict[str, Any]:
    return {
        "line": 0,
        "code": area["code"],
        "level": area["level"],
        "name": area["name"],
        "parent": area.get("parent"),
        "population": None,
        "boundary": None,
    }


def population_by_race(area: dict[str, Any]) -> str | None:
    """An area's residents by race or ethnic group as stored: JSON of the groups given
    (codes in order), or None when none is."""
    given = {
        group: area[f"population_{group}"]
        for group in POPULATION_GROUPS
        if area.get(f"population_{group}") is not None
    }
    return json.dumps(given, sort_keys=True) if given else None


def _check_areas(connection: Connection, areas: list[dict[str, Any]], report: IngestReport) -> None:
    levels = {code: level for code, level in connection.execute(select(Area.code, Area.level))}
    seen: dict[str, int] = {}
    for area in areas:
        if area["code"] in seen:
            report.add_problem(
                Problem(
                    area["line"],
                    "code",
                    area["code"],
                    f"duplicate area code (also on line {seen[area['code']]})",
                )
            )
        seen[area["code"]] = area["line"]
        levels[area["code"]] = area["level"]
    for area in areas:
        line, level, parent = area["line"], area["level"], area["parent"]
        if parent in (None, "unknown"):
            area["parent"] = None
            if level != "city":
                report.add_problem(
                    Problem(
                        line,
                        "parent",
                        str(parent),
                        f"a {level} needs a parent {_PARENT_LEVEL[level]}",
                    )
                )
        elif level == "city":
            report.add_problem(Problem(line, "parent", parent, "a city has no parent"))
        elif levels.get(parent) != _PARENT_LEVEL[level]:
            found = levels.get(parent)
            reason = f"no area has code {parent!r}" if found is None else f"{parent!r} is a {found}"
            report.add_problem(
                Problem(
                    line,
                    "parent",
                    parent,
                    f"a {level}'s parent must be a {_PARENT_LEVEL[level]}; " + reason,
                )
            )
        if area["boundary"] is not None:
            problem = _geometry_problem(area["boundary"])
            if problem:
                report.add_problem(Problem(line, "boundary", area["boundary"][:60], problem))
    if sum(1 for level in levels.values() if level == "city") > 1:
        report.add_problem(Problem(0, "level", "city", "more than one city in the public store"))
    report.rows_rejected = report.problem_count


def _geometry_problem(text: str) -> str | None:
    try:
        geometry = json.loads(text)
    except json.JSONDecodeError as error:
        return f"not JSON ({error.msg})"
    if not isinstance(geometry, dict) or geometry.get("type") not in _GEOMETRIES:
        return "must be a GeoJSON Polygon or MultiPolygon geometry"
    polygons = geometry.get("coordinates")
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    try:
        for polygon in polygons or []:
            for ring in polygon:
                if len(ring) < 4 or ring[0] != ring[-1]:
                    return "every ring needs at least 4 positions and must be closed"
                for lng, lat, *_ in ring:
                    if not (-180 <= float(lng) <= 180 and -90 <= float(lat) <= 90):
                        return "coordinates must be longitude, latitude in degrees"
    except (TypeError, ValueError):
        return "coordinates are not arrays of [longitude, latitude] positions"
    return None


def _write_areas(connection: Connection, areas: list[dict[str, Any]], report: IngestReport) -> None:
    existing = {row.code: row for row in connection.execute(select(Area))}
    order = {"city": 0, "district": 1, "beat": 2}  # parents first, for the foreign key
    for area in sorted(areas, key=lambda a: order[a["level"]]):
        values = {
            "level": area["level"],
            "name": area["name"],
            "parent_code": area["parent"],
            "population": area["population"],
            "boundary": area["boundary"],
            "population_by_race": population_by_race(area),
        }
        old = existing.get(area["code"])
        if old is None:
            connection.execute(insert(Area).values(code=area["code"], **values))
            report.rows_added += 1
        elif any(getattr(old, k) != v for k, v in values.items()):
            connection.execute(update(Area).where(Area.code == area["code"]).values(**values))
            report.rows_updated += 1
        else:
            report.rows_already_present += 1
    report.category_counts = {"level": _count(a["level"] for a in areas)}


def _check_focus_areas(
    connection: Connection, focus: list[dict[str, Any]], report: IngestReport
) -> None:
    beats = set(connection.execute(select(Area.code).where(Area.level == "beat")).scalars())
    if not beats:
        raise IngestRefused(
            "there are no beats in the public store yet: run "
            "`portal ingest areas FILE --mapping NAME` first",
            report,
        )
    for area in focus:
        line = area["line"]
        seen: dict[str, str] = {}
        for role in ("member", "comparison", "buffer"):
            for beat in area[f"{role}_beats"] or []:
                if beat not in beats:
                    report.add_problem(
                        Problem(
                            line,
                            f"{role}_beats",
                            beat,
                            "no beat has this code (see `portal ingest areas`)",
                        )
                    )
                elif beat in seen:
                    report.add_problem(
                        Problem(
                            line, f"{role}_beats", beat, f"the beat is already a {seen[beat]} beat"
                        )
                    )
                seen[beat] = role
        end = area["intervention_end"]
        if end is not None and end < area["intervention_start"]:
            report.add_problem(
                Problem(
                    line, "intervention_end", str(end), "the intervention ends before it starts"
                )
            )
    report.rows_rejected = report.problem_count


def _write_focus_areas(
    connection: Connection, focus: list[dict[str, Any]], report: IngestReport
) -> None:
    existing = {row.code: row for row in connection.execute(select(FocusArea))}
    for area in focus:
        values = {
            "name": area["name"],
            "intervention_start": area["intervention_start"],
            "intervention_end": area["intervention_end"],
        }
        memberships = sorted(
            (beat, role)
            for role in ("member", "comparison", "buffer")
            for beat in area[f"{role}_beats"] or []
        )
        old = existing.get(area["code"])
        old_members = sorted(
            tuple(r)
            for r in connection.execute(
                select(FocusAreaBeat.beat_code, FocusAreaBeat.role).where(
                    FocusAreaBeat.focus_area_code == area["code"]
                )
            ).all()
        )
        if old is None:
            connection.execute(insert(FocusArea).values(code=area["code"], **values))
            report.rows_added += 1
        elif any(getattr(old, k) != v for k, v in values.items()) or old_members != memberships:
            connection.execute(
                update(FocusArea).where(FocusArea.code == area["code"]).values(**values)
            )
            report.rows_updated += 1
        else:
            report.rows_already_present += 1
            continue
        connection.execute(
            delete(FocusAreaBeat).where(FocusAreaBeat.focus_area_code == area["code"])
        )
        for beat, role in memberships:
            connection.execute(
                insert(FocusAreaBeat).values(
                    focus_area_code=area["code"], beat_code=beat, role=role
                )
            )


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _refusal(report: IngestReport) -> str:
    return (
        f"Refused {report.file_name}: {report.problem_count:,} problem(s), so nothing was "
        "written.\n" + "\n".join(report.problem_lines())
    )
