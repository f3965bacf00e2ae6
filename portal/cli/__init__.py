"""The ``portal`` command: the composition root that wires settings, stores and engines.

Only this package (and the admin console) may import ``privacy``: the public site never does.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from portal.cli.console import admin, user
from portal.settings import Settings

console = Console()
err_console = Console(stderr=True)
KIND_CHOICES = ("stops", "incidents", "force", "areas", "focus-areas")
RECORD_KIND_CHOICES = ("stops", "incidents", "force")


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Transparency portal: ingest records, build releases, publish the site."""
    ctx.obj = Settings.from_env()


@cli.group()
def db() -> None:
    """Manage the two stores' schemas."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(settings: Settings) -> None:
    """Migrate the internal and the public store to the latest schema."""
    from portal.stores import upgrade_stores

    for store, url in upgrade_stores(settings):
        console.print(f"[green]✓[/] {store} store at [bold]{_redact(url)}[/] is up to date")


@db.command("roles")
@click.option(
    "--site-role",
    default="portal_site",
    show_default=True,
    help="The public site's role: it may only read the public store.",
)
@click.option(
    "--operator-role",
    default="portal_operator",
    show_default=True,
    help="The role of ingest and the release engine: it reads and writes both stores.",
)
@click.option(
    "--console-role",
    default="portal_console",
    show_default=True,
    help="The role of the console (portal admin serve): the same rights as the operator's.",
)
@click.option(
    "--prompt-passwords",
    is_flag=True,
    help="Ask for each role's password (not echoed). Otherwise the passwords come from "
    "PORTAL_SITE_ROLE_PASSWORD, PORTAL_OPERATOR_ROLE_PASSWORD and "
    "PORTAL_CONSOLE_ROLE_PASSWORD when set, and are left as they are when not.",
)
@click.pass_obj
def db_roles(
    settings: Settings,
    site_role: str,
    operator_role: str,
    console_role: str,
    prompt_passwords: bool,
) -> None:
    """Create the PostgreSQL roles: the site's (read the public store only) and the
    operator's (read and write both stores); only the latter reaches the internal store."""
    from portal.cli.roles import run_roles

    sys.exit(
        run_roles(
            settings,
            site_role=site_role,
            operator_role=operator_role,
            console_role=console_role,
            prompt_passwords=prompt_passwords,
            console=console,
        )
    )


@cli.command()
@click.argument("kind", type=click.Choice(KIND_CHOICES))
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--mapping",
    "mapping_name",
    required=True,
    metavar="NAME_OR_FILE",
    help="A shipped mapping's name (see `portal mappings`) or a mapping file.",
)
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Load the valid rows; record the rejected ones in the batch's report.",
)
@click.pass_obj
def ingest(
    settings: Settings, kind: str, path: Path, mapping_name: str, dry_run: bool, skip_invalid: bool
) -> None:
    """Ingest PATH, KIND records, through a mapping: a file, a directory of CSV files or a
    quoted glob pattern ("exports/stops-*.csv"), each file its own batch, in name order."""
    from portal.cli.ingest import run_ingest

    sys.exit(
        run_ingest(settings, kind, path, mapping_name, dry_run=dry_run, skip_invalid=skip_invalid)
    )


@cli.command()
def mappings() -> None:
    """List the mappings that ship with the portal."""
    from privacy.ingest.mapping import load_mapping, shipped_mapping_names

    table = Table("name", "kind", "source", "description")
    for name in shipped_mapping_names():
        mapping = load_mapping(name)
        table.add_row(name, mapping.kind, mapping.source, mapping.description)
    console.print(table)


@cli.group()
def mapping() -> None:
    """Draft a mapping for a new export, and check a mapping against a file."""


@mapping.command("draft")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--kind", required=True, type=click.Choice(RECORD_KIND_CHOICES))
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the draft  [default: ./STEM-KIND-mapping.toml, never overwritten]",
)
@click.option("--encoding", default="utf-8", show_default=True, help="The file's encoding.")
@click.option("--delimiter", default=",", show_default=True, help="The file's delimiter.")
def mapping_draft(
    path: Path, kind: str, out_path: Path | None, encoding: str, delimiter: str
) -> None:
    """Write a first mapping for the export PATH: columns guessed by name, each column's
    type, value tables with suggested codes, the date format that reads every value."""
    from portal.cli.mapping import run_draft

    sys.exit(
        run_draft(path, kind, out_path, encoding=encoding, delimiter=delimiter, console=console)
    )


@mapping.command("check")
@click.argument("mapping_name", metavar="MAPPING")
@click.argument("path", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--kind",
    type=click.Choice(RECORD_KIND_CHOICES),
    default=None,
    help="The kind of records the file holds  [default: the mapping's]",
)
@click.pass_obj
def mapping_check(settings: Settings, mapping_name: str, path: Path, kind: str | None) -> None:
    """Run MAPPING (a shipped name or a file) over FILE, writing nothing: rows accepted,
    records per month, codes the mapping does not map, rejected rows by reason, and
    whether the portal's department profile would refuse the mapping. Exit status 1 when
    some rows would be rejected or the mapping refused, 2 when the check cannot run."""
    from portal.cli.mapping import run_check

    sys.exit(run_check(mapping_name, path, kind, console=console, settings=settings))


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--seed", default=2025, show_default=True, help="Random seed (same seed, same city).")
@click.option("--stops", default=300_000, show_default=True, help="Number of stops.")
@click.option("--incidents", default=150_000, show_default=True, help="Number of incidents.")
@click.option("--force-events", default=3_000, show_default=True, help="Use-of-force events.")
@click.option("--years", default=3, show_default=True, help="Years of records from 2023-01-01.")
def synth(
    out_dir: Path, seed: int, stops: int, incidents: int, force_events: int, years: int
) -> None:
    """Write a synthetic city (areas, focus areas, records, true effects) to OUT_DIR."""
    from portal.cli.demo import generate

    manifest = generate(
        out_dir, seed=seed, stops=stops, incidents=incidents, force_events=force_events, years=years
    )
    console.print(f"[green]✓[/] synthetic city written to [bold]{manifest.truth.parent}[/]")


@cli.command()
@click.option("--stops", default=300_000, show_default=True, help="Synthetic stops to generate.")
@click.option("--seed", default=2025, show_default=True)
@click.option(
    "--reports/--no-reports",
    default=True,
    show_default=True,
    help="Build each release's PDF report (needs Chromium).",
)
@click.option(
    "--serve/--no-serve", default=True, show_default=True, help="End by serving the site."
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.pass_obj
def demo(
    settings: Settings, stops: int, seed: int, reports: bool, serve: bool, host: str, port: int
) -> None:
    """Set up everything: migrate, generate the synthetic city, ingest it, release every
    complete quarter, build the quarterly reports, then serve the site."""
    from portal.cli.demo import run_demo

    code = run_demo(settings, stops=stops, seed=seed, with_reports=reports)
    if code or not serve:
        sys.exit(code)
    # The demo's process has loaded the internal side; serving replaces it with a fresh one.
    from portal.cli.serve import default_workers
    from portal.cli.serve import serve as serve_site

    serve_site(settings, host=host, port=port, workers=default_workers(), console=console)


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes  [default: one per CPU]",
)
@click.pass_obj
def serve_command(settings: Settings, host: str, port: int, workers: int | None) -> None:
    """Serve the public site (dashboards, releases, open data, API) from the public store."""
    from portal.cli.serve import default_workers, serve

    serve(settings, host=host, port=port, workers=workers or default_workers(), console=console)


@cli.group()
def report() -> None:
    """Quarterly PDF reports."""


@report.command("build")
@click.option("--period", required=True, metavar="YYYYQn", help="The quarter, e.g. 2025Q3.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the PDF here (default: $PORTAL_DATA_DIR/reports/); needs --language.",
)
@click.option(
    "--language",
    type=click.Choice(["en", "es"]),
    default=None,
    help="Build the report in this language only (default: English and Spanish).",
)
@click.pass_obj
def report_build(settings: Settings, period: str, out: Path | None, language: str | None) -> None:
    """Render a quarter's report from its release, in English and Spanish, and store it with
    the release."""
    from portal.cli.report import run_report

    languages = (language,) if language else ("en", "es")
    sys.exit(run_report(settings, period, out, console=console, languages=languages))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def budget(settings: Settings, as_json: bool) -> None:
    """Privacy budget per period: cap, spent and remaining (zCDP rho)."""
    from portal.cli.budget import print_budget

    print_budget(settings, as_json=as_json, console=console)


@cli.command()
@click.option(
    "--policy",
    "policy_name",
    default="quarterly",
    show_default=True,
    metavar="NAME_OR_FILE",
    help="A shipped policy's name or a policy file.",
)
@click.option("--table", "tables", multiple=True, help="A table to audit (default: every one).")
@click.option(
    "--trials",
    type=click.IntRange(min=2),
    default=2000,
    show_default=True,
    help="Outputs drawn per side.",
)
@click.option("--confidence", type=click.FloatRange(0.5, 0.999999), default=0.95, show_default=True)
@click.pass_obj
def audit(
    settings: Settings, policy_name: str, tables: tuple[str, ...], trials: int, confidence: float
) -> None:
    """Audit the policy's privacy claims empirically, on synthetic data in a scratch store,
    and keep the results in the public store for the methodology page."""
    from portal.cli.audit import run_audit
    from portal.progress import progress_bar

    with progress_bar("auditing tables") as update:
        code = run_audit(
            settings, policy_name, tables, trials, confidence, console=console, progress=update
        )
    sys.exit(code)


@cli.group()
def profile() -> None:
    """The department's public profile: what it records and the windows its data cover."""


@profile.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML.")
@click.pass_obj
def profile_show(settings: Settings, as_json: bool) -> None:
    """Print the profile in force (TOML, to review and edit)."""
    from portal.cli.profile import show_profile

    sys.exit(show_profile(settings, as_json=as_json, console=console))


@profile.command("set")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.pass_obj
def profile_set(settings: Settings, path: Path) -> None:
    """Make the reviewed profile file PATH the one in force (a new revision)."""
    from portal.cli.profile import set_profile

    sys.exit(set_profile(settings, path, console=console))


@cli.group()
def release() -> None:
    """Plan, build and list releases."""


@release.command("build")
@click.option("--period", required=True, metavar="YYYYQn", help="The quarter, e.g. 2025Q3.")
@click.option(
    "--policy",
    "policy_name",
    default="quarterly",
    show_default=True,
    metavar="NAME_OR_FILE",
    help="A shipped policy's name or a policy file.",
)
@click.option(
    "--rerelease",
    is_flag=True,
    help="Release a period again under the same policy (spends budget again).",
)
@click.option(
    "--no-report",
    is_flag=True,
    help="Publish the release only; build its reports later with `portal report build`.",
)
@click.pass_obj
def release_build(
    settings: Settings, period: str, policy_name: str, rerelease: bool, no_report: bool
) -> None:
    """Aggregate, charge the budget, add noise, and publish one quarter, then build its
    reports in English and Spanish (unless --no-report)."""
    from portal.cli.release import run_build

    sys.exit(
        run_build(
            settings,
            period,
            policy_name,
            rerelease=rerelease,
            console=console,
            report=not no_report,
        )
    )


@release.command("plan")
@click.option("--period", required=True, metavar="YYYYQn", help="The quarter, e.g. 2025Q3.")
@click.option(
    "--policy",
    "policy_name",
    default="quarterly",
    show_default=True,
    metavar="NAME_OR_FILE",
    help="A shipped policy's name or a policy file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def release_plan(settings: Settings, period: str, policy_name: str, as_json: bool) -> None:
    """What a release would publish, spend and how precise it would be (spends nothing)."""
    from portal.cli.release import print_plan

    sys.exit(print_plan(settings, period, policy_name, as_json=as_json, console=console))


@release.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def release_list(settings: Settings, as_json: bool) -> None:
    """The releases in the public store."""
    from portal.cli.release import print_releases

    print_releases(settings, as_json=as_json, console=console)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


cli.add_command(user)
cli.add_command(admin)


def main() -> None:
    """Entry point of the ``portal`` script."""
    cli()


__all__ = ["cli", "main"]
