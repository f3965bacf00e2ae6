"""Ingest: a department's exports reach the canonical schema through mapping files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine, insert

from privacy.ingest.mapping import Mapping, MappingError, load_mapping
from privacy.ingest.records import Progress, ingest_records
from privacy.ingest.reference import ingest_reference
from privacy.ingest.report import IngestRefused, IngestReport
from privacy.schema import RECORD_KINDS
from privacy.store.audit import default_actor, record_audit, utc_now
from privacy.store.models import IngestBatch
from publishing.areas import area_codes, beat_districts
from publishing.profile import DepartmentProfile

__all__ = ["IngestRefused", "IngestReport", "MappingError", "ingest_file", "load_mapping"]


def ingest_file(
    internal: Engine,
    public: Engine,
    kind: str,
    path: Path,
    mapping: Mapping,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    actor: str | None = None,
    progress: Progress | None = None,
    parallel: bool | None = None,
) -> IngestReport:
    """Ingest one file of ``kind`` with ``mapping``: records into the internal store,
    reference data into the public store (its batch is still logged internally)."""
    if mapping.kind != kind:
        raise IngestRefused(
            f"mapping {mapping.name!r} is for {mapping.kind}, not {kind}; pick a {kind} mapping"
        )
    if kind in RECORD_KINDS:
        if mapping.district_from_beat:
            parents = beat_districts(public)
            if not parents:
                raise IngestRefused(
                    f"mapping {mapping.name!r} takes the district from the beat's declared "
                    "parent, but no beats are declared: ingest the areas first "
                    "(`portal ingest areas FILE --mapping NAME`)"
                )
            mapping = mapping.with_beat_districts(parents)
        # A mapping whose vocabularies contradict the profile's is refused before a row is
        # read: the store would hold one field in two codings.
        profile, _ = _profiled(public, mapping)
        report = ingest_records(
            internal,
            mapping,
            path,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            actor=actor,
            progress=progress,
            parallel=parallel,
        )
        report.notes.extend(report.date_warnings(_declared_window(profile, kind)))
        if dry_run:
            report.notes.extend(_undeclared_areas(public, report))
        else:
            report.notes.extend(declare_mapping(public, mapping))
        return report
    if skip_invalid:
        raise IngestRefused(
            f"--skip-invalid is not allowed for {kind}: reference data is "
            "loaded whole or not at all"
        )
    report = ingest_reference(public, mapping, path, dry_run=dry_run)
    if progress is not None:
        size = path.stat().st_size
        progress(size, size)  # reference files are small: read whole, no bar to animate
    if report.committed and not dry_run:
        report.batch_id = _log_reference_batch(internal, mapping, path, actor, report)
    return report


def _profiled(
    public: Engine, mapping: Mapping
) -> tuple[DepartmentProfile | None, DepartmentProfile]:
    """The profile in force, and the profile with what ``mapping`` records added; refused
    when the mapping contradicts it."""
    from privacy.profile import with_mapping
    from publishing.areas import city_name, department_name
    from publishing.profile import ProfileError, read_profile

    current = read_profile(public)
    name = department_name(None, city_name(public) or "City")
    try:
        updated = with_mapping(current, mapping, name)
        for layout in mapping.layouts[1:]:  # what any of its variants records too
            updated = with_mapping(updated, layout, name)
    except ProfileError as error:
        raise IngestRefused(str(error)) from None
    return current, updated


def declare_mapping(public: Engine, mapping: Mapping) -> list[str]:
    """Add what ``mapping`` records to the department profile in force (configuration is
    public; nothing here reads a record); a note when that changed the profile."""
    from publishing.profile import write_profile

    # Read again, not reused from before the records: another ingest may have added to the
    # profile while this one ran.
    current, updated = _profiled(public, mapping)
    if current is not None and updated.as_json() == current.as_json():
        return []
    revision = write_profile(public, updated, now=utc_now())
    return [
        f"the department profile (revision {revision}) now says what mapping "
        f"{mapping.name!r} records of {mapping.kind}; review it with `portal profile show`"
    ]


def _declared_window(profile: DepartmentProfile | None, kind: str) -> tuple[date, date] | None:
    """The days the department profile says its ``kind`` records cover, if declared."""
    if profile is None or kind not in profile.sources:
        return None
    return profile.sources[kind].window


def _undeclared_areas(public: Engine, report: IngestReport) -> list[str]:
    """Notes on districts and beats the records use but the public areas do not declare:
    releases will count them under "unknown"."""
    declared = {level: set(codes) for level, codes in area_codes(public).items()}
    notes = []
    for level in ("district", "beat"):
        counts = report.category_counts.get(level, {})
        missing = {
            code: n
            for code, n in counts.items()
            if code != "unknown" and code not in declared.get(level, set())
        }
        if not missing:
            continue
        if not declared.get(level):
            notes.append(
                f"no {level}s are declared yet (`portal ingest areas`); until they "
                f"are, releases cannot place these records by {level}"
            )
            continue
        listed = ", ".join(
            f"{code} ({n:,})" for code, n in sorted(missing.items(), key=lambda item: -item[1])[:10]
        )
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        notes.append(
            f"{len(missing)} {level}(s) used here are not among the declared areas "
            f"and will count as unknown in releases: {listed}{more}"
        )
    return notes


def _log_reference_batch(
    internal: Engine, mapping: Mapping, path: Path, actor: str | None, report: IngestReport
) -> int:
    now = utc_now()
    with internal.begin() as connection:
        result = connection.execute(
            insert(IngestBatch).values(
                kind=mapping.kind,
                source=mapping.source,
                mapping_name=mapping.name,
                mapping_sha256=mapping.sha256,
                file_name=report.file_name,
                file_sha256=report.file_sha256,
                actor=actor or default_actor(),
                started_at=now,
                finished_at=now,
                rows_read=report.rows_read,
                rows_accepted=report.rows_accepted,
                rows_added=report.rows_added,
                rows_already_present=report.rows_already_present,
                rows_rejected=report.rows_rejected,
                report=report.to_json(),
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        batch_id = int(key[0])
        record_audit(
            connection,
            actor,
            "ingest",
            {
                "batch_id": batch_id,
                "kind": mapping.kind,
                "mapping": mapping.name,
                "file": report.file_name,
                "rows_added": report.rows_added,
                "rows_updated": report.rows_updated,
            },
        )
        return batch_id
