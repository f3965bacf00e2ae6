"""``portal ingest``: run one ingest and tell the operator what happened."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from portal.progress import progress_bar
from portal.settings import Settings
from portal.stores import internal_engine, public_engine
from privacy.ingest import IngestRefused, IngestReport, MappingError, ingest_file, load_mapping

EXIT_REFUSED = 2
# What a shell reports for a command ended by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


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
    """Ingest ``path``; print the report; return the process exit code."""
    out = console or Console()
    err = Console(stderr=True) if console is None else console
    try:
        mapping = load_mapping(mapping_name)
    except MappingError as error:
        err.print(f"[red]error:[/] {escape(str(error))}", highlight=False)
        return EXIT_REFUSED
    if not path.is_file():
        err.print(f"[red]error:[/] no such file: {path}", highlight=False)
        return EXIT_REFUSED
    internal, public = internal_engine(settings), public_engine(settings)
    try:
        with progress_bar(
            f"{'checking' if dry_run else 'ingesting'} {path.name}", in_bytes=True
        ) as update:
            report = ingest_file(
                internal,
                public,
                kind,
                path,
                mapping,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                progress=update,
            )
    except IngestRefused as refused:
        err.print(f"[red]refused:[/] {escape(str(refused))}", highlight=False)
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
    print_report(report, out)
    return 0


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
        out.print(
            "per weekday: "
            + ", ".join(f"{day[:3]} {n:,}" for day, n in report.by_weekday().items()),
            highlight=False,
        )
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
