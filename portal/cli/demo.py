"""``portal demo`` and ``portal synth``: the synthetic city, end to end."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, func, select

from portal.cli.exits import EXIT_REFUSED
from portal.progress import progress_bar
from portal.settings import Settings
from portal.stores import internal_engine, public_engine, upgrade_stores
from privacy.ingest import IngestRefused, IngestReport, ingest_file, load_mapping
from privacy.release.build import ReleaseRefused, build_release
from privacy.release.periods import Quarter
from privacy.release.policy import load_policy
from privacy.store.audit import utc_now
from privacy.synth import CityManifest, generate_city
from publishing.areas import city_name, department_name
from publishing.models import Area
from publishing.profile import read_profile, write_profile

# The order matters: areas before focus areas (which name beats) and before records.
DEMO_AUDIT_TRIALS = 2000  # outputs per side: about ten seconds for one table
DEMO_FILES = (
    ("areas", "areas"),
    ("focus-areas", "focus_areas"),
    ("stops", "stops"),
    ("incidents", "incidents"),
    ("force", "force"),
)


def generate(
    out_dir: Path, *, seed: int, stops: int, incidents: int, force_events: int, years: int = 3
) -> CityManifest:
    """Write the synthetic city with a progress bar per file."""
    with Progress(
        TextColumn("[bold]writing {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    ) as bars:
        tasks: dict[str, object] = {}

        def update(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bars.add_task(label, total=total)
            bars.update(tasks[label], completed=done, total=total)  # type: ignore[arg-type]

        return generate_city(
            out_dir,
            seed=seed,
            stops=stops,
            incidents=incidents,
            force_events=force_events,
            years=years,
            progress=update,
        )


def run_demo(
    settings: Settings,
    *,
    stops: int,
    seed: int,
    console: Console | None = None,
    with_reports: bool = True,
    audit_trials: int = DEMO_AUDIT_TRIALS,
) -> int:
    """Migrate, generate the city, ingest it, release every complete quarter, audit the
    policy's first table empirically (``audit_trials`` outputs per side), build each
    release's PDF report (unless ``with_reports`` is false), and print a summary; return the
    exit code."""
    out = console or Console()
    for store, _url in upgrade_stores(settings):
        out.print(f"[green]✓[/] {store} store migrated")
    city_dir = settings.data_dir / "synthetic"
    manifest = generate(
        city_dir, seed=seed, stops=stops, incidents=stops // 2, force_events=max(stops // 100, 100)
    )
    out.print(f"[green]✓[/] synthetic city (seed {seed}) written to {city_dir}")
    internal, public = internal_engine(settings), public_engine(settings)
    reports: list[IngestReport] = []
    try:
        for kind, attribute in DEMO_FILES:
            path: Path = getattr(manifest, attribute)
            with progress_bar(f"ingesting {path.name}", in_bytes=True) as update:
                reports.append(
                    ingest_file(
                        internal,
                        public,
                        kind,
                        path,
                        load_mapping(f"synthetic-{kind}"),
                        progress=update,
                    )
                )
        _print_summary(out, reports, public, manifest)
        _declare_profile(out, public, manifest)
        _release_every_quarter(out, internal, public, manifest)
        _audit_once(out, settings, public, audit_trials)
    except IngestRefused as refused:
        out.print(f"[red]refused:[/] {escape(str(refused))}", highlight=False)
        return EXIT_REFUSED
    finally:
        internal.dispose()
        public.dispose()
    return _build_reports(out, settings) if with_reports else 0


def _declare_profile(out: Console, public: Engine, manifest: CityManifest) -> None:
    """Name the department and declare the days its files cover, as a department would
    after its first ingest (ingest declared what the mappings record)."""
    parameters = json.loads(manifest.truth.read_text())["parameters"]
    first = date.fromisoformat(parameters["start"])
    last = datetime.fromisoformat(parameters["end"]).date() - timedelta(days=1)
    profile = read_profile(public)
    if profile is None:
        return
    department = department_name(None, city_name(public) or "City")
    declared = profile.declared(department, (first, last))
    if declared.to_toml() != profile.to_toml():
        revision = write_profile(public, declared, now=utc_now())
        out.print(
            f"[green]✓[/] department profile revision {revision}: {department}, "
            f"data from {first} to {last}"
        )


def _audit_once(out: Console, settings: Settings, public: Engine, trials: int) -> None:
    """Audit the quarterly policy's first table, unless an audit of the policy is kept."""
    from portal.cli.audit import run_audit
    from publishing.audits import read_audits

    policy = load_policy("quarterly")
    if any(a.policy_sha256 == policy.sha256 for a in read_audits(public)):
        out.print("[green]✓[/] privacy audit: one of this policy is already published")
        return
    with progress_bar("auditing the privacy claim") as update:
        run_audit(
            settings,
            policy.name,
            [policy.tables[0].name],
            trials,
            0.95,
            console=out,
            progress=update,
        )


def _build_reports(out: Console, settings: Settings) -> int:
    from portal.cli.report import build_missing_reports
    from publishing.svg import ChartRenderError

    try:
        with progress_bar("building reports") as update:
            built, kept = build_missing_reports(settings, progress=update)
    except ChartRenderError as error:
        out.print(f"[red]reports not built:[/] {escape(str(error))}", highlight=False)
        return EXIT_REFUSED
    out.print(
        f"[green]✓[/] reports: {built} built, {kept} already there; see "
        f"{settings.data_dir / 'reports'} and the site's Reports page"
    )
    return 0


def _print_summary(
    out: Console, reports: list[IngestReport], public: Engine, manifest: CityManifest
) -> None:
    table = Table(
        "file",
        "kind",
        "rows read",
        "added",
        "already present",
        "batch",
        title="Ingested (internal store)",
    )
    for report in reports:
        table.add_row(
            report.file_name,
            report.kind,
            f"{report.rows_read:,}",
            f"{report.rows_added:,}",
            f"{report.rows_already_present:,}",
            str(report.batch_id),
        )
    out.print(table)
    with public.connect() as connection:
        levels = dict(
            connection.execute(select(Area.level, func.count()).group_by(Area.level)).all()
        )
    out.print(
        f"Public reference data: {levels.get('city', 0)} city, "
        f"{levels.get('district', 0)} districts, {levels.get('beat', 0)} beats."
    )
    truth = json.loads(manifest.truth.read_text())
    for area in truth["focus_areas"]:
        out.print(
            f"  • focus area {area['name']} ({area['code']}): intervention from "
            f"{area['intervention_start']}; true effect on crime in its beats "
            f"x{area['effects']['incidents_member']}, on stops "
            f"x{area['effects']['stops_member']} (truth.json)"
        )


def _release_every_quarter(
    out: Console, internal: Engine, public: Engine, manifest: CityManifest
) -> None:
    """Build the quarterly release of every complete quarter the city covers; quarters
    already released under the policy are left as they are (releasing again costs budget)."""
    parameters = json.loads(manifest.truth.read_text())["parameters"]
    quarter = Quarter.containing(date.fromisoformat(parameters["start"]))
    end = datetime.fromisoformat(parameters["end"])
    policy = load_policy("quarterly")
    built, kept = [], 0
    with progress_bar("building releases") as update:
        quarters = []
        while quarter.end <= end:
            quarters.append(quarter)
            quarter = quarter.next()
        for done, each in enumerate(quarters):
            try:
                built.append(build_release(internal, public, str(each), policy, actor="demo"))
            except ReleaseRefused as refused:
                if "already released" not in str(refused):
                    raise
                kept += 1
            update(done + 1, len(quarters))
    out.print(
        f"[green]✓[/] releases: {len(built)} built, {kept} already published "
        f"({len(quarters)} complete quarters); see `portal release list` and "
        "`portal budget`"
    )
