"""The department profile: what a department records is declared, and every release
decision it drives (tables withheld, structural zeros, partial quarters) comes from it,
never from the records."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from portal.cli import cli
from portal.settings import Settings
from privacy.ingest import ingest_file, load_mapping
from privacy.ingest.convert import RowConverter, RowErrors
from privacy.profile import recorded_by, vocabularies, with_mapping
from privacy.release.build import ReleaseRefused, build_release
from privacy.release.policy import load_policy
from privacy.store.audit import utc_now
from privacy.store.models import BudgetCharge
from publishing.profile import (
    DepartmentProfile,
    ProfileError,
    SourceProfile,
    parse_profile,
    read_profile,
    write_profile,
)
from publishing.releases import read_release
from tests.canonical import stop_row, write_stops
from tests.test_release_promises import add_stops, decisions, stop, two_stores

__all__ = ["two_stores"]  # the fixture, shared with the release promises' tests

ROOT = Path(__file__).resolve().parents[1]
QUARTERLY = load_policy("quarterly")
# A department like Minneapolis's 2017 export: stops only; no search, contraband, age,
# frisk or force fields; three outcome codes; its data from mid-August.
STOPS_ONLY = """
name = "Testville Police Department"

[stops]
window = ["2024-08-15", "2025-12-31"]

[stops.fields]
stop_type = ["vehicular", "pedestrian"]
reason = ["traffic_violation", "suspicious"]
subject_race = "all"
subject_sex = ["male", "female", "unknown"]
outcome = ["none", "citation", "unknown"]
"""


def test_a_profile_reads_back_as_written() -> None:
    profile = parse_profile(STOPS_ONLY, vocabularies=vocabularies())

    assert profile.name == "Testville Police Department" and list(profile.sources) == ["stops"]
    stops = profile.sources["stops"]
    assert stops.window == (date(2024, 8, 15), date(2025, 12, 31))
    assert stops.can_occur("outcome", "citation") and not stops.can_occur("outcome", "arrest")
    assert stops.can_occur("subject_race", "other")  # "all"
    assert not stops.records("search_conducted") and stops.can_occur("search_conducted", "unknown")
    assert parse_profile(profile.to_toml()) == profile


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[stops]", "[arrests]"), "unknown sources ['arrests']"),
        (('"citation"', '"caution"'), "outcome: ['caution'] are not codes of outcome"),
        (("stop_type =", "shoe_size ="), "'shoe_size' is not a categorical field of stops"),
        (('"2024-08-15"', '"2026-08-15"'), "window must be two dates"),
        (('name = "Testville Police Department"', ""), "'name' is required"),
    ],
)
def test_a_bad_profile_says_what_to_fix(change: tuple[str, str], message: str) -> None:
    with pytest.raises(ProfileError) as refused:
        parse_profile(STOPS_ONLY.replace(*change), vocabularies=vocabularies())
    assert message in str(refused.value)


def test_a_mapping_says_what_its_source_records() -> None:
    minneapolis = recorded_by(load_mapping("minneapolis-stops"))

    assert minneapolis.fields["outcome"] == ("none", "citation", "unknown")
    assert minneapolis.fields["search_conducted"] == ("yes", "no", "unknown")
    # The export has no age, frisk, contraband or force columns.
    for absent in ("subject_age_band", "frisk_performed", "contraband_found", "use_of_force"):
        assert not minneapolis.records(absent)
    canonical = recorded_by(load_mapping("synthetic-stops"))
    assert canonical.fields["outcome"] is None  # canonical codes read as they are: any

    joined = with_mapping(None, load_mapping("minneapolis-stops"), "Minneapolis PD")
    assert joined.name == "Minneapolis PD" and list(joined.sources) == ["stops"]


def test_a_code_a_value_table_does_not_name_is_refused_not_hidden(tmp_path: Path) -> None:
    # A value table names the codes that can occur; a canonical code it does not name used
    # to pass through and land in a cell the release publishes as a structural zero.
    text = (ROOT / "privacy" / "mappings" / "synthetic-stops.toml").read_text()
    text += '\n[fields.outcome.values]\nARREST = "arrest"\nNONE = "none"\n'
    text = text.replace('name = "synthetic-stops"', 'name = "two-outcomes"')
    path = tmp_path / "two-outcomes.toml"
    path.write_text(text)
    mapping = load_mapping(path)
    converter = RowConverter(mapping, list(stop_row(0)))
    at = converter.field_names.index("outcome")

    assert recorded_by(mapping).fields["outcome"] == ("none", "arrest")
    assert converter.convert(list(stop_row(1, outcome="ARREST").values()))[at] == "arrest"
    assert converter.convert(list(stop_row(1, outcome="arrest").values()))[at] == "arrest"
    with pytest.raises(RowErrors) as refused:
        converter.convert(list(stop_row(1, outcome="warning").values()))
    assert "code not known to the mapping for outcome" in str(refused.value.errors[0])


def test_bands_computed_from_a_number_can_be_any_band() -> None:
    stanford = recorded_by(load_mapping("stanford-opp"))
    assert stanford.fields["subject_age_band"] is None


def test_ingesting_through_a_mapping_declares_what_it_records(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    assert read_profile(public) is None
    path = write_stops(tmp_path / "stops.csv", [stop_row(n) for n in range(5)])

    report = ingest_file(internal, public, "stops", path, load_mapping("synthetic-stops"))
    again = ingest_file(internal, public, "stops", path, load_mapping("synthetic-stops"))

    profile = read_profile(public)
    assert profile is not None and profile.revision == 1 and list(profile.sources) == ["stops"]
    assert any("department profile (revision 1)" in note for note in report.notes)
    assert not any("department profile" in note for note in again.notes)  # unchanged


def _declare(public: Engine, text: str = STOPS_ONLY) -> None:
    write_profile(public, parse_profile(text, vocabularies=vocabularies()), now=utc_now())


def test_a_release_follows_the_profile(two_stores: list[tuple[Engine, Engine]]) -> None:
    (internal, public), _ = two_stores
    _declare(public)
    add_stops(
        internal, [stop(500 + n, datetime(2024, 9, 2, 10), outcome="citation") for n in range(9)]
    )

    built = build_release(internal, public, "2024Q3", QUARTERLY)

    release = read_release(public, built.release_id)
    assert release is not None
    tables = {t.name for t in release.tables}
    # Nothing of searches, hits, force or crime: they would be noise only.
    assert not any(n.startswith(("search", "force", "incidents")) for n in tables)
    withheld = {w["table"]: w["why"] for w in release.budget_statement["withheld"]}  # type: ignore[index]
    assert withheld["searches_by_district_race"] == (
        "this department does not record search_conducted on stops"
    )
    assert withheld["force_by_district_race"] == "this department does not publish uses of force"
    with internal.connect() as connection:
        charged = set(connection.execute(select(BudgetCharge.source)).scalars())
    assert charged == {"stops"}  # withheld tables spend nothing
    # Outcome codes that cannot occur are structural zeros: 0, not measured, no interval.
    (outcomes,) = [t for t in release.tables if t.name == "stops_by_outcome"]
    by_code = {c.key[1]: c for c in outcomes.cells}
    for code in ("warning", "summons", "arrest"):
        cell = by_code[code]
        assert (cell.structural, cell.value, cell.ci_low, cell.ci_high) == (True, 0, 0, 0)
    assert not by_code["citation"].structural and by_code["citation"].ci_high > 0
    # The quarter is covered from 15 August only: labelled partial.
    assert release.budget_statement["coverage"] == {"stops": ["2024-08-15", "2024-09-30"]}
    assert release.budget_statement["partial"] is True


def test_the_profile_decides_the_same_on_neighbouring_data_sets(
    two_stores: list[tuple[Engine, Engine]],
) -> None:
    (internal, public), (internal2, public2) = two_stores
    _declare(public)
    _declare(public2)
    # The neighbour: one more record, with a code the profile says cannot occur.
    add_stops(internal2, [stop(900, datetime(2024, 9, 3, 11), outcome="arrest")])

    assert decisions(internal, public, "2024Q3", QUARTERLY) == decisions(
        internal2, public2, "2024Q3", QUARTERLY
    )


def test_a_quarter_the_declared_windows_do_not_cover_is_refused(
    two_stores: list[tuple[Engine, Engine]],
) -> None:
    (internal, public), _ = two_stores
    _declare(public)
    add_stops(internal, [stop(700, datetime(2024, 2, 1, 9))])  # before the declared window

    with pytest.raises(ReleaseRefused, match="the department's stops do not cover 2024Q1"):
        build_release(internal, public, "2024Q1", QUARTERLY)
    with internal.connect() as connection:
        assert connection.execute(select(BudgetCharge.id)).first() is None


def test_portal_profile_set_and_show(settings: Settings, tmp_path: Path) -> None:
    env = {
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
    }
    good = tmp_path / "profile.toml"
    good.write_text(STOPS_ONLY, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(STOPS_ONLY.replace('"citation"', '"caution"'), encoding="utf-8")

    refused = CliRunner().invoke(cli, ["profile", "set", str(bad)], env=env)
    accepted = CliRunner().invoke(cli, ["profile", "set", str(good)], env=env)
    shown = CliRunner().invoke(cli, ["profile", "show"], env=env)

    assert refused.exit_code == 2 and "['caution'] are not codes of outcome" in refused.stderr
    assert accepted.exit_code == 0 and "revision 1" in accepted.stdout
    assert shown.stdout.startswith("# department profile, revision 1\n")
    assert 'outcome = ["none", "citation", "unknown"]' in shown.stdout
    assert DepartmentProfile("x", {"stops": SourceProfile({})}).publishes("stops")


def test_the_site_says_what_is_not_recorded_and_what_is_partial(
    two_stores: list[tuple[Engine, Engine]],
) -> None:
    from litestar.testing import TestClient

    from portal.web.app import create_app

    (internal, public), _ = two_stores
    _declare(public)
    add_stops(internal, [stop(800 + n, datetime(2025, 8, 1 + n, 9)) for n in range(20)])
    build_release(internal, public, "2024Q3", QUARTERLY)  # partial: data from 15 August
    build_release(internal, public, "2025Q3", QUARTERLY)
    url = str(public.url.render_as_string(hide_password=False))
    settings = Settings(
        data_dir=Path("."), internal_db_url=str(internal.url), public_db_url=url, site_db_url=url
    )

    with TestClient(app=create_app(settings)) as client:
        home = client.get("/?period=2025Q3").text
        partial = client.get("/?period=2024Q3").text
        stops = client.get("/stops?period=2025Q3").text
        spanish = client.get("/?period=2025Q3&lang=es").text

    assert "this department does not record search_conducted on stops" in home.lower()
    # The release stored its reasons in English; a Spanish page reads them in Spanish.
    assert "Este departamento no registra search_conducted en sus paradas" in spanish
    assert "does not record" not in spanish
    assert "not compared with 2024Q3: only part of the quarter is covered" in home
    assert 'id="partial"' in partial and "stops data from 2024-08-15 to 2024-09-30" in partial
    assert 'id="partial"' not in home
    assert "search-rates" not in stops  # no chart of noise
    assert ">Arrest<" not in stops and ">Citation<" in stops  # outcomes it cannot record
