"""``portal mapping draft`` and ``portal mapping check``: write a first mapping for an
export, then see what it makes of the file before anything is ingested.

Text from files and mappings is printed as it is (no Rich markup), so that a message about
``[fields.outcome]`` reads ``[fields.outcome]``.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from portal.cli.exits import EXIT_REFUSED
from portal.settings import Settings
from portal.stores import public_engine
from privacy.ingest.check import LINES_KEPT, CheckReport, check_file
from privacy.ingest.convert import HeaderError
from privacy.ingest.draft import draft_file
from privacy.ingest.mapping import Mapping, MappingError, load_mapping
from privacy.ingest.reader import FileProblem
from privacy.profile import with_mapping
from publishing.profile import ProfileError, read_profile

EXIT_REJECTED = 1
# Unmapped values listed per field; the rest are counted.
VALUES_SHOWN = 20


def _say(out: Console, text: str, style: str | None = None) -> None:
    out.print(Text(text, style=style or ""), soft_wrap=True, highlight=False)


def run_draft(
    path: Path,
    kind: str,
    out_path: Path | None,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    console: Console,
) -> int:
    """Draft a mapping for ``path``; write it; print what was guessed. Exit code."""
    try:
        draft, unreadable = draft_file(path, kind, encoding=encoding, delimiter=delimiter)
    except FileProblem as problem:
        _say(console, f"error: {problem}", "red")
        return EXIT_REFUSED
    target = out_path or Path(f"{path.stem}-{kind}-mapping.toml")
    if target.exists() and out_path is None:
        _say(console, f"error: {target} exists; name another file with --out", "red")
        return EXIT_REFUSED
    target.write_text(draft.text, encoding="utf-8")
    _say(console, f"{draft.rows:,} rows read from {path.name}; draft mapping written to {target}")
    if unreadable:
        _say(
            console,
            f"  {unreadable:,} row{'' if unreadable == 1 else 's'} could not be read as data "
            "(see the check)",
        )
    table = Table("field", "column(s)", title="Columns guessed")
    for name, columns in draft.guesses.items():
        table.add_row(Text(name), Text(", ".join(columns)))
    console.print(table)
    if draft.date_format:
        _say(console, f"date format: {draft.date_format} (reads every value)")
    if "source_id" in draft.guesses:
        _say(
            console,
            f"ids: {draft.repeated_ids:,} repeated (rows with an id seen before: "
            f"{draft.extra_id_rows:,})",
        )
    for warning in draft.warnings:
        _say(console, f"warning: {warning}", "yellow")
    _say(
        console,
        f"next: review the lines marked '# suggested', then: portal mapping check {target} {path}",
    )
    return 0


def run_check(
    mapping_name: str,
    path: Path,
    kind: str | None,
    *,
    console: Console,
    settings: Settings | None = None,
) -> int:
    """Run the mapping over the file, print the report. Exit code: 0 when every row would
    be accepted, 1 when some would be rejected or an ingest into the portal of
    ``settings`` would refuse the mapping, 2 when the check cannot run."""
    try:
        mapping = load_mapping(mapping_name)
    except MappingError as error:
        _say(console, f"error: {error}", "red")
        return EXIT_REFUSED
    if kind is not None and mapping.kind != kind:
        _say(console, f"error: mapping {mapping.name!r} is for {mapping.kind}, not {kind}", "red")
        return EXIT_REFUSED
    try:
        report = check_file(mapping, path)
    except (FileProblem, HeaderError, ValueError) as error:
        _say(console, f"error: {error}", "red")
        return EXIT_REFUSED
    print_check(report, console)
    refusal = profile_refusal(settings, mapping) if settings is not None else None
    if refusal is not None:
        _say(console, f"an ingest into this portal would refuse the mapping: {refusal}", "red")
    return EXIT_REJECTED if report.rows_rejected or refusal else 0


def profile_refusal(settings: Settings, mapping: Mapping) -> str | None:
    """Why an ingest into the portal of ``settings`` would refuse ``mapping`` (it reads a
    field in another vocabulary than the department profile), or None. A portal whose
    public store does not exist yet has no profile, and none is created here."""
    url = make_url(settings.public_db_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists()):
        return None
    try:
        engine = public_engine(settings, read_only=True)
        try:
            profile = read_profile(engine)
        finally:
            engine.dispose()
    except SQLAlchemyError:
        return None  # a store that cannot be read (not migrated, not reachable): no profile
    try:
        with_mapping(profile, mapping, "department")
    except ProfileError as error:
        return str(error)
    return None


def print_check(report: CheckReport, out: Console) -> None:
    """Rows read and accepted, records per month, unmapped codes, rejected rows by reason."""
    _say(
        out,
        f"{report.file_name} with mapping {report.mapping} ({report.kind}): "
        f"{report.rows_read:,} rows read, {report.rows_accepted:,} accepted, "
        f"{report.rows_rejected:,} rejected",
    )
    if report.per_month:
        table = Table("month", "records", title="Records per month")
        for month, count in sorted(report.per_month.items()):
            table.add_row(month, f"{count:,}")
        out.print(table)
    if report.repeated_ids:
        fate = (
            'as the mapping says (duplicates = "first"), an ingest keeps the first row of '
            "each and leaves the later ones out (not counted above)"
            if report.duplicates == "first"
            else 'an ingest refuses every row carrying them (duplicates = "first" keeps the '
            "first row of each instead)"
        )
        _say(
            out,
            f"repeated ids: {report.repeated_ids:,} ids repeat ({report.extra_id_rows:,} extra "
            f"rows); {fate}",
            "yellow",
        )
    if report.unmapped:
        _say(out, "Codes the mapping does not map:")
    for name, found in report.unmapped.items():
        fate = f"read as {found.fallback!r} (fallback)" if found.fallback else "rows rejected"
        _say(out, f"  {name} (column {', '.join(found.columns)}): {fate}")
        ranked = sorted(found.counts.items(), key=lambda item: (-item[1], item[0]))
        for value, count in ranked[:VALUES_SHOWN]:
            _say(out, f"    {value!r}: {count:,} row{'' if count == 1 else 's'}")
        if len(ranked) > VALUES_SHOWN:
            _say(out, f"    ... and {len(ranked) - VALUES_SHOWN:,} more values")
    if report.rejections:
        _say(out, "Rejected rows by reason:")
    ranked_rejections = sorted(report.rejections.items(), key=lambda item: -item[1].count)
    for (name, column, reason), rows in ranked_rejections:
        where = (name or "file") + (f", column {column!r}" if column else "")
        lines = ", ".join(str(n) for n in rows.lines) + (", ..." if rows.count > LINES_KEPT else "")
        values = ", ".join(repr(x) for x in rows.values)
        _say(
            out,
            f"  {rows.count:,} row{'' if rows.count == 1 else 's'}: {where}: {reason} "
            f"(values {values}; lines {lines})",
        )
