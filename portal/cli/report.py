"""``portal report build``: a release's quarterly PDF report, stored with the release."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from portal.cli.exits import EXIT_REFUSED
from portal.settings import Settings
from portal.stores import public_engine
from publishing.artifacts import list_artifacts
from publishing.catalog import Catalog, load_catalog
from publishing.i18n import LANGUAGE_NAMES, LANGUAGES
from publishing.reports import Report, ReportError, store_report


class OutputError(ValueError):
    """The report cannot be written where it was asked to go."""


def check_writable(path: Path) -> None:
    """Refuse early, before any work, when ``path`` cannot be written."""
    folder = path.parent if path.parent != Path("") else Path(".")
    if path.exists() and path.is_dir():
        raise OutputError(
            f"cannot write the report to {path}: it is a folder; give a file "
            "name such as report.pdf"
        )
    if not folder.is_dir():
        raise OutputError(
            f"cannot write the report to {path}: the folder {folder} does not "
            "exist; create it or choose another --out"
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputError(
            f"cannot write the report to {path}: permission denied; choose "
            "another --out in a folder you can write to"
        )


def make_report(catalog: Catalog, settings: Settings, period: str, language: str = "en") -> Report:
    """Render one period's report in ``language`` with its charts (one browser for the whole
    report) and store it with its release."""
    from publishing.svg import render_svgs

    engine = public_engine(settings)
    try:
        return store_report(engine, catalog, period, render_svgs=render_svgs, language=language)
    finally:
        engine.dispose()


def run_report(
    settings: Settings,
    period: str,
    out: Path | None,
    *,
    console: Console,
    languages: tuple[str, ...] = LANGUAGES,
) -> int:
    """``portal report build``: the report in each of ``languages``; return the exit code."""
    from publishing.svg import ChartRenderError

    err = Console(stderr=True, soft_wrap=True)
    try:
        if out is not None and len(languages) != 1:
            raise OutputError(
                "--out writes one file, and the report is built in "
                f"{len(languages)} languages; add --language en or --language es"
            )
        if out is not None:
            check_writable(out)
        catalog = _catalog(settings)
        written = []
        for language in languages:
            report = make_report(catalog, settings, period, language)
            target = out or settings.data_dir / "reports" / report.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            check_writable(target)
            target.write_bytes(report.pdf)
            written.append((report, target))
    except (ReportError, OutputError, ChartRenderError) as refused:
        err.print(f"[red]refused:[/] {escape(str(refused))}", highlight=False)
        return EXIT_REFUSED
    except OSError as error:
        err.print(
            f"[red]refused:[/] cannot write the report: {escape(str(error))}", highlight=False
        )
        return EXIT_REFUSED
    for report, target in written:
        console.print(
            f"[green]✓[/] report for {period} in {LANGUAGE_NAMES[report.language]} "
            f"({report.charts} charts, {len(report.pdf) / 1024:,.0f} KB) written to {target} "
            f"and stored with release {report.release_id[:12]}",
            highlight=False,
        )
    return 0


def build_missing_reports(
    settings: Settings, *, progress: Callable[[int, int], None] | None = None
) -> tuple[int, int]:
    """Build the report of every current release, in every language, that has none (the
    demo's last step); return (built, already there)."""
    catalog = _catalog(settings)
    engine = public_engine(settings)
    try:
        have = {(a.release_id, a.language) for a in list_artifacts(engine) if a.kind == "report"}
    finally:
        engine.dispose()
    wanted = [(p, language) for p in catalog.periods for language in LANGUAGES]
    missing = [(p, lang) for p, lang in wanted if (catalog.current[p].id, lang) not in have]
    folder = settings.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    for done, (period, language) in enumerate(missing, start=1):
        report = make_report(catalog, settings, period, language)
        (folder / report.filename).write_bytes(report.pdf)
        if progress:
            progress(done, len(missing))
    return len(missing), len(wanted) - len(missing)


def _catalog(settings: Settings) -> Catalog:
    engine = public_engine(settings, read_only=True)
    catalog = load_catalog(engine)
    catalog.read_current()  # now, then let the engine go
    return catalog
