"""Ingest a file of stops, incidents or force events into the internal store.

One file is one batch, committed whole or not at all, in one transaction. Rows stream in
chunks (constant memory): read and converted (:mod:`privacy.ingest.pipeline`), then written
to the records table (:mod:`privacy.ingest.staging`). A file with any invalid row
is refused unless ``skip_invalid`` is set, and re-ingesting a file adds nothing because
source ids are unique per source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, update

from privacy.ingest.convert import HeaderError, RowConverter
from privacy.ingest.mapping import Mapping, date_detail
from privacy.ingest.pipeline import converted_stream, hour_of
from privacy.ingest.reader import CsvSource, FileProblem
from privacy.ingest.report import (
    PROBLEMS_SHOWN,
    IngestRefused,
    IngestReport,
    Problem,
    file_label,
)
from privacy.ingest.staging import BatchWriter, batch_writer
from privacy.schema import FieldType, fields_of
from privacy.store.audit import default_actor, record_audit, utc_now
from privacy.store.models import RECORD_TABLES, IngestBatch

Progress = Callable[[int, int], None]


def ingest_records(
    engine: Engine,
    mapping: Mapping,
    path: Path,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    actor: str | None = None,
    progress: Progress | None = None,
    parallel: bool | None = None,
) -> IngestReport:
    """Validate ``path`` with ``mapping`` and, unless ``dry_run``, load it as one batch.

    ``parallel`` reads and converts in a second process (default: for large files).

    Raises :class:`IngestRefused` (nothing written) for a file that cannot be read, a header
    that lacks the mapping's columns, invalid rows without ``skip_invalid``, or no valid row.
    """
    if mapping.kind not in RECORD_TABLES:
        raise IngestRefused(f"mapping {mapping.name!r} is for {mapping.kind}, not records")
    table = RECORD_TABLES[mapping.kind]
    report = IngestReport(
        kind=mapping.kind,
        mapping=mapping.name,
        file_name=file_label(path),
        dry_run=dry_run,
        skip_invalid=skip_invalid,
    )
    started = utc_now()
    try:
        source = mapping.open(path)
    except FileProblem as error:
        raise IngestRefused(str(error), report) from None
    mapping = mapping.for_header(source.header)
    report.date_detail = date_detail(
        next(r for r in mapping.rules if r.target.name == "occurred_at")
    )
    if mapping.variant:
        report.notes.append(f"read with the mapping's variant {mapping.variant!r}")
    with source, engine.connect() as connection:
        try:
            # Times as the stored text on both stores: SQLite keeps it, and COPY reads it
            # into PostgreSQL's timestamp as it would read a formatted datetime.
            converter = RowConverter(mapping, source.header, datetime_as_text=True)
        except HeaderError as error:
            raise IngestRefused(f"{report.file_name}: {error}", report) from None
        transaction = connection.begin()
        try:
            batch_id = _open_batch(connection, mapping, source, actor, started, report)
            writer = batch_writer(
                connection, table, mapping.source, batch_id, fields_of(mapping.kind)
            )
            _write_rows(source, converter, writer, report, progress, parallel)
            recounted = _reject_duplicate_ids(writer, report, mapping.duplicates)
            if recounted:
                _recount(writer, report)
            _decide(report)
            report.rows_added = writer.finish()
            report.rows_already_present = report.rows_accepted - report.rows_added
            if writer.changed:
                example = "; ".join(
                    f"id {i!r}: stored {a}, this file {b}" for i, a, b in writer.changed_examples
                )
                report.notes.append(
                    f"{writer.changed:,} rows carry ids that earlier batches stored with another "
                    f"time ({example}), so they were left out as already present. If the "
                    "export's ids restart (each year, say), make them unique with the year: "
                    'columns = ["YEAR", "ID"] and combine = "join"'
                )
            if recounted and report.rows_already_present:
                report.notes.append(
                    "the counts per month and per category are of the rows this file adds: "
                    "rows with repeated ids were taken out, rows already present are not "
                    "counted"
                )
            if dry_run:
                transaction.rollback()  # the batch row and its records go with it
                return report
            _close_batch(connection, batch_id, report, actor)
            transaction.commit()
        except FileProblem as problem:  # the file broke off in the middle
            transaction.rollback()
            raise IngestRefused(str(problem), report) from None
        except BaseException:
            if transaction.is_active:
                transaction.rollback()
            raise
    report.committed = True
    report.batch_id = batch_id
    return report


def _write_rows(
    source: CsvSource,
    converter: RowConverter,
    writer: BatchWriter,
    report: IngestReport,
    progress: Progress | None,
    parallel: bool | None,
) -> None:
    # Counting costs about a tenth of the load: only a dry run reports it.
    counted = (
        [
            (i, name)
            for i, name in enumerate(converter.field_names)
            if name in _counted_fields(report.kind)
        ]
        if report.dry_run
        else []
    )
    counts: dict[str, Counter[str]] = {name: Counter() for _, name in counted}
    hours: Counter[str] = Counter()
    as_copy = writer.copy_target if not counted else None
    for chunk in converted_stream(source, converter, report, parallel=parallel, as_copy=as_copy):
        writer.append(chunk)
        for at, name in counted:  # C-speed counting over a column of the chunk
            counts[name].update(chunk.column(at))
        hours.update(chunk.hours)
        if progress is not None:
            progress(chunk.bytes_read, source.size)
    report.category_counts = {name: dict(sorted(c.items())) for name, c in counts.items()}
    report.hour_counts = dict(sorted(hours.items()))
    if progress is not None:
        progress(source.size, source.size)


def _reject_duplicate_ids(writer: BatchWriter, report: IngestReport, policy: str) -> bool:
    """Reject every row whose id repeats in the file, or (``policy`` "first") keep the
    first row of each such id and leave the later ones out; whether any id repeats."""
    total, examples = writer.duplicate_ids(limit=PROBLEMS_SHOWN)
    if not total:
        return False
    if policy == "first":  # the first row of each id went in: the writers keep the first
        report.rows_repeated = writer.later_copies()
        report.notes.append(
            f"{total:,} source id(s) occur more than once in the file; as the mapping says "
            f'(duplicates = "first"), the first row of each is kept and the '
            f"{report.rows_repeated:,} later row(s) are left out"
        )
        return True
    for source_id, lines in examples:
        for line in lines:
            others = ", ".join(str(n) for n in lines if n != line)
            report.add_problem(
                Problem(
                    line,
                    "source_id",
                    source_id,
                    f"duplicate id inside the file (also on line {others})",
                )
            )
    removed = writer.drop_duplicate_ids()
    report.rows_rejected += removed
    shown = sum(len(lines) for _, lines in examples)
    if removed > shown:
        report.problem_count += removed - shown
    report.notes.append(
        f"{total:,} source id(s) occur more than once in the file; "
        f"all {removed:,} rows carrying them are rejected"
    )
    return True


def _recount(writer: BatchWriter, report: IngestReport) -> None:
    """Count per hour (and, in a dry run, per category) the records the batch holds once
    rows with repeated ids are out: the counts made while reading included them."""
    fields = list(report.category_counts)
    rows = writer.connection.execute(writer.written("occurred_at", *fields))
    hours: Counter[str] = Counter()
    counts: dict[str, Counter[str]] = {name: Counter() for name in fields}
    for row in rows:
        hours[hour_of(row[0])] += 1
        for name, value in zip(fields, row[1:], strict=True):
            counts[name][value] += 1
    report.hour_counts = dict(sorted(hours.items()))
    report.category_counts = {name: dict(sorted(c.items())) for name, c in counts.items()}


def _decide(report: IngestReport) -> None:
    if report.rows_read == 0:
        raise IngestRefused(
            f"{report.file_name} has a header but no data rows; nothing to ingest", report
        )
    if report.rows_rejected and not report.skip_invalid and not report.dry_run:
        message = report.summary() + "\n" + "\n".join(report.problem_lines())
        raise IngestRefused(message, report)
    if report.rows_accepted == 0 and not report.dry_run:
        raise IngestRefused(
            f"{report.file_name}: no row is valid, so nothing was written\n"
            + "\n".join(report.problem_lines()),
            report,
        )


def _counted_fields(kind: str) -> list[str]:
    return [f.name for f in fields_of(kind) if f.type in (FieldType.CATEGORY, FieldType.AREA)]


def _open_batch(
    connection: Connection,
    mapping: Mapping,
    source: CsvSource,
    actor: str | None,
    started: datetime,
    report: IngestReport,
) -> int:
    result = connection.execute(
        insert(IngestBatch).values(
            kind=mapping.kind,
            source=mapping.source,
            mapping_name=mapping.name,
            mapping_sha256=mapping.sha256,
            file_name=source.name,
            file_sha256="",
            actor=actor or default_actor(),
            started_at=started,
            finished_at=started,
            rows_read=report.rows_read,
            rows_accepted=report.rows_accepted,
            rows_added=0,
            rows_already_present=0,
            rows_rejected=report.rows_rejected,
            report="{}",
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _close_batch(
    connection: Connection, batch_id: int, report: IngestReport, actor: str | None
) -> None:
    connection.execute(
        update(IngestBatch)
        .where(IngestBatch.id == batch_id)
        .values(
            finished_at=utc_now(),
            file_sha256=report.file_sha256,
            rows_read=report.rows_read,
            rows_accepted=report.rows_accepted,
            rows_rejected=report.rows_rejected,
            rows_added=report.rows_added,
            rows_already_present=report.rows_already_present,
            report=report.to_json(),
        )
    )
    record_audit(
        connection,
        actor,
        "ingest",
        {
            "batch_id": batch_id,
            "kind": report.kind,
            "mapping": report.mapping,
            "file": report.file_name,
            "rows_added": report.rows_added,
            "rows_rejected": report.rows_rejected,
        },
    )
