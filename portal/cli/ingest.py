"""``portal ingest``: run one ingest and tell the operator what happened."""

from __future__ import annotations

import glob
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from portal.cli.exits import EXIT_REFUSED
from portal.progress import progress_bar
from portal.settings import Settings
from portal.stores import internal_engine, public_engine
from privacy.ingest import IngestRefused, IngestReport, MappingError, ingest_file, load_mapping

# What a shell reports for a command ended by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


def input_files(path: Path) -> list[Path]:
    """The files ``path`` names, in order: the file itself, a directory's CSV files, or the
    files a glob pattern matches, sorted by name (yearly exports load oldest first)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if any(c in str(path) for c in "*?["):
        return sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
    return []


def run_ingest(
    settings: Settings,
    kind: str,
    path: Path,
    mapping_name: str,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    console: Console | None = None,
) -> int:
    """Ingest the file, directory or glob ``path``, each file its own batch, in order;
    print each report and, for several files, a summary; return the process exit code."""
    out = console or Console()
    err = Console(stderr=True) if console is None else console
    try:
        mapping = load_mapping(mapping_name)
    except MappingError as error:
        err.print(f"[red]error:[/] {escape(str(error))}", highlight=False)
        return EXIT_REFUSED
    files = input_files(path)
    if not files:
        err.print(
            f"[red]error:[/] no such file, and no CSV file in or matching: {escape(str(path))}",
            highlight=False,
        )
        return EXIT_REFUSED
    internal, public = internal_engine(settings), public_engine(settings)
    reports: list[IngestReport] = []
    try:
        for number, file in enumerate(files, start=1):
            if len(files) > 1:
                out.print(f"[bold]file {number} of {len(files)}:[/] {escape(file.name)}")
            verb = "checking" if dry_run else "ingesting"
            with progress_bar(f"{verb} {file.name}", in_bytes=True) as update:
                report = ingest_file(
                    internal,
                    public,
                    kind,
                    file,
                    mapping,
                    dry_run=dry_run,
                    skip_invalid=skip_invalid,
                    progress=update,
                )
            reports.append(report)
            print_report(report, out)
    except IngestRefused as refused:
        err.print(f"[red]refused:[/] {escape(str(refused))}", highlight=False)
        if reports and not dry_run:
            loaded = ", ".join(r.file_name for r in reports)
            err.print(
                f"The files before it stay loaded ({escape(loaded)}); fix this one and run "
                "the same command again: files already loaded add nothing.",
                highlight=False,
            )
        return EXIT_REFUSED
    except KeyboardInterrupt:
        # The batch's transaction was rolled back on the way out and the conversion worker
        # stopped (privacy.ingest.pipeline).
        err.print(
            "[red]interrupted:[/] an ingest that does not finish writes nothing "
            "(a file is one batch, committed whole or not at all)",
            highlight=False,
        )
        return EXIT_INTERRUPTED
    finally:
        internal.dispose()
        public.dispose()
    if len(reports) > 1:
        print_summary(reports, out)
    return 0


def print_summary(reports: list[IngestReport], out: Console) -> None:
    """One line per file of a many-file ingest, and the totals."""
    table = Table("file", "batch", "read", "accepted", "added", "rejected", title="Files")
    for r in reports:
        table.add_row(
            escape(r.file_name),
            "dry run" if r.dry_run else str(r.batch_id),
            f"{r.rows_read:,}",
            f"{r.rows_accepted:,}",
            f"{r.rows_added:,}",
            f"{r.rows_rejected:,}",
        )
    table.add_row(
        "all files",
        "",
        f"{sum(r.rows_read for r in reports):,}",
        f"{sum(r.rows_accepted for r in reports):,}",
        f"{sum(r.rows_added for r in reports):,}",
        f"{sum(r.rows_rejected for r in reports):,}",
    )
    out.print(table)
    if all(r.dry_run for r in reports):
        out.print(
            "A dry run checks each file against the store as it is now: an id that one of "
            "these files repeats from another is not seen until the first is loaded.",
            highlight=False,
        )


def print_report(report: IngestReport, out: Console) -> None:
    """The summary, the problems and (for a dry run) the counts per category."""
    out.print(escape(report.summary()), highlight=False)
    for line in report.problem_lines():
        out.print(f"  [yellow]•[/] {escape(line)}", highlight=False)
    for note in report.notes:
        out.print(f"  [yellow]note:[/] {escape(note)}", highlight=False)
    months = report.by_month()
    if months:
        table = Table("month", "records", title="Accepted records per month")
        for month, n in months.items():
            table.add_row(month, f"{n:,}")
        out.print(table)
        if report.date_detail == "month":
            out.print("the dates give the month only: no counts per weekday or hour")
        else:
            out.print(
                "per weekday: "
                + ", ".join(f"{day[:3]} {n:,}" for day, n in report.by_weekday().items()),
                highlight=False,
            )
        if report.date_detail == "day":
            out.print("the dates give no time of day: no counts per hour")
        elif report.date_detail == "time":
            out.print(
                "per hour: " + ", ".join(f"{h} {n:,}" for h, n in report.by_hour().items()),
                highlight=False,
            )
    if report.dry_run and report.category_counts:
        table = Table("field", "value", "rows", title="Rows per category (accepted rows)")
        for name, counts in report.category_counts.items():
            for value, n in sorted(counts.items(), key=lambda item: -item[1]):
                table.add_row(escape(name), escape(value), f"{n:,}")
        out.print(table)
