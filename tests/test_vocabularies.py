"""A department declares the vocabulary of its coded fields, and every surface follows it.

An English force publishes the Home Office crime types and England and Wales's stop and
search outcomes, with the officer's and the person's own account of ethnicity; a US agency
that reports NIBRS counts Group A offences. Each is onboarded here from an export shaped
like the real one, through its mapping, to a release and the pages residents read: the
key sets, the headline measure, the chart series and the data dictionary are the declared
vocabulary's, and nothing falls into "other" for want of a code.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import Engine, text

from portal.cli import cli
from portal.settings import Settings
from portal.web.app import create_app
from privacy.ingest import ingest_file, load_mapping
from privacy.ingest.check import check_file
from privacy.ingest.draft import draft_file
from privacy.ingest.mapping import MappingError, parse_mapping
from privacy.ingest.report import IngestRefused
from privacy.release.build import build_release
from privacy.release.policy import load_policy, parse_policy
from privacy.synth import generate_city
from publishing.catalog import load_catalog
from publishing.headlines import quarter_figures
from publishing.profile import read_profile
from publishing.vocabularies import ETHNIC_GROUPS, HOME_OFFICE, NIBRS_GROUP_A, UK_OUTCOMES
from tests.canonical import AREAS_HEADER, two_districts, write_csv

QUARTERLY = load_policy("quarterly")
LSOAS = {"E01000001": "north", "E01000002": "north", "E01000003": "south", "E01000004": "south"}
CRIME_TYPES = {
    "Anti-social behaviour": "anti_social_behaviour",
    "Violence and sexual offences": "violence_and_sexual_offences",
    "Robbery": "robbery",
    "Burglary": "burglary",
    "Vehicle crime": "vehicle_crime",
    "Theft from the person": "theft_from_the_person",
    "Shoplifting": "shoplifting",
    "Bicycle theft": "bicycle_theft",
    "Other theft": "other_theft",
    "Criminal damage and arson": "criminal_damage_and_arson",
    "Drugs": "drugs",
    "Possession of weapons": "possession_of_weapons",
    "Public order": "public_order",
    "Other crime": "other",
}
STREET_HEADER = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
SEARCH_HEADER = [
    "Type",
    "Date",
    "Part of a policing operation",
    "Policing operation",
    "Latitude",
    "Longitude",
    "Gender",
    "Age range",
    "Self-defined ethnicity",
    "Officer-defined ethnicity",
    "Legislation",
    "Object of search",
    "Outcome",
    "Outcome linked to object of search",
    "Removal of more than just outer clothing",
]
OUTCOMES = {
    "A no further action disposal": "no_further_action",
    "Arrest": "arrest",
    "Community resolution": "community_resolution",
    "Khat or Cannabis warning": "cannabis_warning",
    "Penalty Notice for Disorder": "penalty_notice",
}
SELF_DEFINED = {
    "White - English/Welsh/Scottish/Northern Irish/British": "white",
    "Black/African/Caribbean/Black British - Caribbean": "black",
    "Asian/Asian British - Pakistani": "asian",
    "Mixed/Multiple ethnic groups - White and Black African": "mixed",
    "Other ethnic group - Not stated": "unknown",
}


def uk_areas(tmp_path: Path) -> Path:
    """A force of two districts whose beats are census LSOAs."""
    rows = [
        {"code": "force", "level": "city", "name": "Testshire Police area"},
        {"code": "north", "level": "district", "name": "North Testshire", "parent": "force"},
        {"code": "south", "level": "district", "name": "South Testshire", "parent": "force"},
        *({"code": c, "level": "beat", "name": c, "parent": d} for c, d in LSOAS.items()),
    ]
    full = [{"parent": "", "population": "", "boundary": "", **row} for row in rows]
    return write_csv(tmp_path / "areas.csv", AREAS_HEADER, full)


def street_rows() -> list[dict[str, str]]:
    """Three months of street-level crime: every type in every LSOA, 1 to 3 times; crime
    ids blank for anti-social behaviour and repeated for two different crimes."""
    rows = []
    for month in (1, 2, 3):
        for i, lsoa in enumerate(LSOAS):
            for k, crime_type in enumerate(CRIME_TYPES):
                for n in range(1 + (month + i + k) % 3):
                    asb = crime_type == "Anti-social behaviour"
                    rows.append(
                        {
                            "Crime ID": "" if asb else f"{month:02d}{i}{k:02d}{n}abc",
                            "Month": f"2024-{month:02d}",
                            "Reported by": "Testshire Police",
                            "Falls within": "Testshire Police",
                            "Longitude": "-1.5",
                            "Latitude": "53.8",
                            "Location": "On or near High Street",
                            "LSOA code": lsoa,
                            "LSOA name": f"Testshire {i:03d}A",
                            "Crime type": crime_type,
                            "Last outcome category": "" if asb else "Under investigation",
                            "Context": "",
                        }
                    )
    rows[1]["Crime ID"] = rows[2]["Crime ID"]  # ids repeat in real files
    return rows


def search_rows() -> list[dict[str, str]]:
    """Three months of stop and search, no ids; the last rows with blanks."""
    rows = []
    outcomes, selves = list(OUTCOMES), list(SELF_DEFINED)
    for n in range(240):
        rows.append(
            {
                "Type": ("Person search", "Vehicle search", "Person and Vehicle search")[n % 3],
                "Date": f"2024-{1 + n % 3:02d}-{1 + n % 27:02d}T{n % 24:02d}:30:00+00:00",
                "Part of a policing operation": "False",
                "Policing operation": "",
                "Latitude": "53.8",
                "Longitude": "-1.5",
                "Gender": ("Male", "Female", "")[n % 3 if n % 7 else 0],
                "Age range": ("18-24", "25-34", "over 34", "10-17", "under 10")[n % 5],
                "Self-defined ethnicity": selves[n % len(selves)],
                "Officer-defined ethnicity": ("White", "Black", "Asian", "Other", "")[n % 5],
                "Legislation": "Misuse of Drugs Act 1971 (section 23)",
                "Object of search": "Controlled drugs",
                "Outcome": outcomes[n % len(outcomes)],
                "Outcome linked to object of search": ("True", "False", "")[n % 3],
                "Removal of more than just outer clothing": "False",
            }
        )
    return rows


def onboard_force(engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    internal, public = engines
    ingest_file(internal, public, "areas", uk_areas(tmp_path), load_mapping("synthetic-areas"))
    street = write_csv(tmp_path / "2024-01-testshire-street.csv", STREET_HEADER, street_rows())
    searches = write_csv(
        tmp_path / "2024-01-testshire-stop-and-search.csv", SEARCH_HEADER, search_rows()
    )
    ingest_file(internal, public, "incidents", street, load_mapping("police-uk-street"))
    ingest_file(internal, public, "stops", searches, load_mapping("police-uk-stop-search"))


def stored(internal: Engine, query: str) -> Counter[tuple[str, ...]]:
    with internal.connect() as connection:
        return Counter({tuple(row[:-1]): int(row[-1]) for row in connection.execute(text(query))})


def site(engines: tuple[Engine, Engine], tmp_path: Path) -> Settings:
    internal, public = engines
    url = str(public.url.render_as_string(hide_password=False))
    return Settings(
        data_dir=tmp_path, internal_db_url=str(internal.url), public_db_url=url, site_db_url=url
    )


def test_an_english_force_loads_every_row_in_its_own_codes(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    onboard_force(engines, tmp_path)
    internal, public = engines

    crimes = Counter((r["Month"], CRIME_TYPES[r["Crime type"]]) for r in street_rows())
    assert stored(
        internal,
        "SELECT substr(CAST(occurred_at AS TEXT), 1, 7), offense_category, count(*) "
        "FROM incidents GROUP BY 1, 2",
    ) == Counter({(month, code): n for (month, code), n in crimes.items()})
    assert crimes["2024-01", "violence_and_sexual_offences"] == 9  # counted as itself
    outcomes = Counter(OUTCOMES[r["Outcome"]] for r in search_rows())
    assert stored(internal, "SELECT outcome, count(*) FROM stops GROUP BY 1") == Counter(
        {(code,): n for code, n in outcomes.items()}
    )
    both = stored(
        internal,
        "SELECT subject_race, subject_self_defined_ethnicity, count(*) FROM stops GROUP BY 1, 2",
    )
    officer = {"White": "white", "Black": "black", "Asian": "asian", "Other": "other"}
    expected = Counter(
        (
            officer.get(r["Officer-defined ethnicity"], "unknown"),
            SELF_DEFINED[r["Self-defined ethnicity"]],
        )
        for r in search_rows()
    )
    assert both == expected
    ages = stored(internal, "SELECT subject_age_band, count(*) FROM stops GROUP BY 1")
    assert set(ages) == {("18_24",), ("25_34",), ("over_34",), ("10_17",), ("under_10",)}
    districts = stored(internal, "SELECT district, count(*) FROM incidents GROUP BY 1")
    assert set(districts) == {("north",), ("south",)}  # each beat's declared parent

    profile = read_profile(public)
    assert profile is not None
    assert profile.name == "Testshire Police area"  # not "... Police area Police Department"
    assert dict(profile.sources["incidents"].vocabularies) == {"offense_category": "home-office"}
    assert dict(profile.sources["stops"].vocabularies) == {
        "outcome": "uk-stop-search",
        "subject_age_band": "uk-age-ranges",
        "subject_race": "uk-ethnic-groups",
    }
    assert '[stops.vocabularies]\noutcome = "uk-stop-search"' in profile.to_toml()


def test_an_english_force_publishes_its_own_headline_and_categories(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    onboard_force(engines, tmp_path)
    internal, public = engines
    build_release(internal, public, "2024Q1", QUARTERLY, actor="test")
    catalog = load_catalog(public)

    offences = catalog.table("2024Q1", "incidents_by_month_offense")
    assert offences is not None
    assert offences.values_of("offense_category") == list(HOME_OFFICE.codes)
    outcomes = catalog.table("2024Q1", "stops_by_outcome")
    assert outcomes is not None and outcomes.values_of("outcome") == list(UK_OUTCOMES.codes)
    races = catalog.table("2024Q1", "stops_by_race")
    assert races is not None
    assert races.values_of("subject_race") == list(ETHNIC_GROUPS.codes)
    # The policy's "no enforcement action" is England's "no further action" here.
    assert catalog.table("2024Q1", "no_action_stops_in_quarter") is not None
    statement = catalog.current["2024Q1"].statement
    assert dict(statement.vocabularies)["offense_category"] == "home-office"
    # The stop and search files name no place: nothing by district is published for stops
    # (it would be noise around zero), and what is city-wide stays.
    withheld = dict(statement.withheld)
    assert (
        withheld["stops_by_district_race"] == "this department's stops do not name their district"
    )
    assert withheld["stops_by_month_beat"] == (
        "this department's stops do not name their beat or district: published as stops_by_month"
    )
    assert not any(
        "district" in t.dimensions
        for t in catalog.tables(catalog.current["2024Q1"].id).values()
        if t.source == "stops"
    )
    assert {"searches", "hits", "stops", "no_action"} <= set(quarter_figures(catalog, "2024Q1"))

    with TestClient(app=create_app(site(engines, tmp_path))) as client:
        home, crime, stops = (client.get(p).text for p in ("/", "/crime", "/stops"))
        release_id = catalog.current["2024Q1"].id
        dictionary = client.get(f"/releases/{release_id}/data-dictionary.csv").text
        methodology = client.get("/methodology").text
    assert "Recorded crimes reported" in home and "Part I" not in home
    assert "Violence and sexual offences" in crime and "Anti-social behaviour" in crime
    assert "Recorded crimes by district" in crime and "Part I" not in crime
    assert "not a crime and is not counted" in crime
    assert "No further action" in stops and "Community resolution" in stops
    assert "ended with no further action and found no contraband" in stops
    assert "Stops by ethnicity" in stops and "Stops by race" not in stops
    assert "home-office" in dictionary and "violence_and_sexual_offences" in dictionary
    assert "uk-stop-search" in dictionary and "homicide" not in dictionary
    assert "coded as Home Office crime types (data.police.uk)" in methodology


def test_the_headline_counts_violence_but_not_anti_social_behaviour(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    onboard_force(engines, tmp_path)
    internal, public = engines
    build_release(internal, public, "2024Q1", QUARTERLY, actor="test")
    figures = quarter_figures(load_catalog(public), "2024Q1")

    rows = street_rows()
    crimes = sum(r["Crime type"] != "Anti-social behaviour" for r in rows)
    violence = sum(r["Crime type"] == "Violence and sexual offences" for r in rows)
    assert violence > 0
    measure = HOME_OFFICE.headline
    assert measure is not None
    assert "violence_and_sexual_offences" in measure.codes
    assert "anti_social_behaviour" not in measure.codes
    # Six standard errors: a miss has odds of about one in 500 million. Under UCR Part I
    # the headline had no code for violence, drugs or public order.
    found = figures["crimes"]
    assert abs(found.unbiased - crimes) < 6 * found.std_error


def test_the_persons_own_ethnicity_is_a_field_a_policy_can_count(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    onboard_force(engines, tmp_path)
    internal, public = engines
    policy = parse_policy(
        'name = "self-defined"\n[unit]\nkind = "record"\n[budget]\nrho = 0.5\n'
        '[[tables]]\nname = "searches_by_self_defined_ethnicity"\nsource = "stops"\n'
        'dimensions = ["quarter", "subject_self_defined_ethnicity"]\nweight = 1.0\n'
    )
    build_release(internal, public, "2024Q1", policy, actor="test")
    table = load_catalog(public).table("2024Q1", "searches_by_self_defined_ethnicity")

    assert table is not None
    assert table.values_of("subject_self_defined_ethnicity") == [
        "asian",
        "black",
        "mixed",
        "white",
        "other",
        "unknown",
    ]


NIBRS_HEADER = ["incident_number", "incident_date", "offense_code", "district"]
NIBRS_CODES = {"13A": "assault", "13B": "assault", "23H": "larceny", "35A": "drug_offenses"}


def nibrs_mapping(tmp_path: Path) -> Path:
    """A US agency's NIBRS export: offence codes mapped to Group A categories, Group B
    (90-codes) to other."""
    codes = "\n".join(f'"{code}" = "{category}"' for code, category in NIBRS_CODES.items())
    path = tmp_path / "nibrs.toml"
    path.write_text(
        'name = "agency-nibrs"\nkind = "incidents"\nsource = "agency"\n'
        'timezone = "America/New_York"\n'
        '[fields.source_id]\ncolumn = "incident_number"\n'
        '[fields.occurred_at]\ncolumn = "incident_date"\nformat = "%m/%d/%Y"\n'
        '[fields.offense_category]\ncolumn = "offense_code"\nvocabulary = "nibrs-group-a"\n'
        f'fallback = "other"\n[fields.offense_category.values]\n{codes}\n'
        '[fields.district]\ncolumn = "district"\n'
    )
    return path


def nibrs_rows() -> list[dict[str, str]]:
    codes = [*NIBRS_CODES, "90D", "90Z"]
    return [
        {
            "incident_number": f"2024-{n:05d}",
            "incident_date": f"{1 + n % 3:02d}/{1 + n % 28:02d}/2024",
            "offense_code": codes[n % len(codes)],
            "district": ("d1", "d2")[n % 2],
        }
        for n in range(300)
    ]


def test_an_agency_that_reports_nibrs_publishes_group_a_offences(
    engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    path = two_districts(tmp_path / "areas.csv")
    ingest_file(internal, public, "areas", path, load_mapping("synthetic-areas"))
    export = write_csv(tmp_path / "nibrs.csv", NIBRS_HEADER, nibrs_rows())
    ingest_file(internal, public, "incidents", export, load_mapping(nibrs_mapping(tmp_path)))

    expected = Counter(NIBRS_CODES.get(r["offense_code"], "other") for r in nibrs_rows())
    assert stored(internal, "SELECT offense_category, count(*) FROM incidents GROUP BY 1") == (
        Counter({(code,): n for code, n in expected.items()})
    )
    against = stored(internal, "SELECT crime_against, count(*) FROM incidents GROUP BY 1")
    assert against[("society",)] == expected["drug_offenses"]
    assert against[("person",)] == expected["assault"]

    build_release(internal, public, "2024Q1", QUARTERLY, actor="test")
    catalog = load_catalog(public)
    table = catalog.table("2024Q1", "incidents_by_month_offense")
    assert table is not None and table.values_of("offense_category") == list(NIBRS_GROUP_A.codes)
    with TestClient(app=create_app(site(engines, tmp_path))) as client:
        home, crime = client.get("/").text, client.get("/crime").text
    assert "Group A offences reported" in home and "Part I" not in home
    assert "Drug or narcotic offences" in crime and "Assault" in crime
    # Codes the mapping never gives are not recorded, not counts of 0: no series for them.
    assert "Kidnapping" not in crime and "Bribery" not in crime


def ucr_city(engines: tuple[Engine, Engine], tmp_path: Path) -> None:
    """A small synthetic city whose 60 crime reports are stored in UCR Part I."""
    city = generate_city(tmp_path / "city", stops=10, incidents=60, force_events=5)
    ingest_file(*engines, "areas", city.areas, load_mapping("synthetic-areas"))
    ingest_file(*engines, "incidents", city.incidents, load_mapping("synthetic-incidents"))


def test_a_mapping_in_another_vocabulary_than_the_profile_is_refused(
    settings: Settings, engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    ucr_city(engines, tmp_path)
    export = write_csv(tmp_path / "nibrs.csv", NIBRS_HEADER, nibrs_rows())

    with pytest.raises(
        IngestRefused, match="says its incidents use ucr-part1, and the records already stored"
    ):
        ingest_file(internal, public, "incidents", export, load_mapping(nibrs_mapping(tmp_path)))
    assert stored(internal, "SELECT count(*) FROM incidents") == Counter({(): 60})
    # The check says so too, before anyone tries (and without creating a store).
    env = {
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
    }
    mapping = str(nibrs_mapping(tmp_path))
    checked = CliRunner().invoke(cli, ["mapping", "check", mapping, str(export)], env=env)
    assert checked.exit_code == 1, checked.output
    assert "an ingest into this portal would refuse the mapping" in " ".join(checked.output.split())
    elsewhere = {"PORTAL_PUBLIC_DB_URL": f"sqlite:///{tmp_path / 'none' / 'public.sqlite3'}"}
    fresh = CliRunner().invoke(cli, ["mapping", "check", mapping, str(export)], env=elsewhere)
    assert fresh.exit_code == 0, fresh.output
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (
            'column = "c"\nvocabulary = "nibrs"',
            "cannot use the vocabulary 'nibrs'; it can use: ucr-part1, nibrs-group-a, home-office",
        ),
        (
            'column = "c"\nvocabulary = "nibrs-group-a"\nvalues = { "05" = "aggravated_assault" }',
            "maps '05' to 'aggravated_assault', which is not one of: homicide, kidnapping",
        ),
    ],
)
def test_a_vocabulary_the_field_cannot_use_says_which_it_can(field: str, message: str) -> None:
    text_ = (
        'name = "m"\nkind = "incidents"\nsource = "s"\n[fields.source_id]\ncolumn = "id"\n'
        f'[fields.occurred_at]\ncolumn = "t"\n[fields.offense_category]\n{field}\n'
    )
    with pytest.raises(MappingError, match=message):
        parse_mapping(tomllib.loads(text_))


def test_a_field_with_one_vocabulary_declares_none() -> None:
    with pytest.raises(MappingError, match="reason has one vocabulary and declares none"):
        parse_mapping(
            tomllib.loads(
                'name = "m"\nkind = "stops"\nsource = "s"\n[fields.source_id]\ncolumn = "id"\n'
                '[fields.occurred_at]\ncolumn = "t"\n'
                '[fields.reason]\ncolumn = "r"\nvocabulary = "us-stop"\n'
            )
        )


@pytest.mark.parametrize(
    ("kind", "header", "rows", "declared"),
    [
        ("incidents", STREET_HEADER, street_rows(), {"offense_category": "home-office"}),
        (
            "stops",
            SEARCH_HEADER,
            search_rows(),
            {
                "outcome": "uk-stop-search",
                "subject_age_band": "uk-age-ranges",
                "subject_race": "uk-ethnic-groups",  # the self-defined field's default
            },
        ),
    ],
)
def test_a_draft_of_an_english_export_declares_its_vocabularies_and_reads_every_row(
    tmp_path: Path,
    kind: str,
    header: list[str],
    rows: list[dict[str, str]],
    declared: dict[str, str],
) -> None:
    export = write_csv(tmp_path / f"2024-01-testshire-{kind}.csv", header, rows)
    draft, _ = draft_file(export, kind)
    path = tmp_path / "draft.toml"
    path.write_text(draft.text, encoding="utf-8")
    mapping = load_mapping(path)

    assert {r.target.name: r.target.declared for r in mapping.rules if r.target.declared} == (
        declared
    )
    assert next(r for r in mapping.rules if r.target.name == "source_id").from_line
    report = check_file(mapping, export)
    assert (report.rows_read, report.rows_accepted) == (len(rows), len(rows))
    assert report.repeated_ids == 0  # each id is the file's name and the row's line


def test_a_profile_cannot_recode_records_already_stored(
    settings: Settings, engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    public = engines[1]
    ucr_city(engines, tmp_path)
    before = read_profile(public)
    assert before is not None
    recoded = tmp_path / "profile.toml"
    recoded.write_text(
        before.to_toml()
        .replace(
            "[incidents.fields]",
            '[incidents.vocabularies]\noffense_category = "nibrs-group-a"\n[incidents.fields]',
        )
        .replace('offense_category = "all"', 'offense_category = ["assault", "other"]'),
        encoding="utf-8",
    )
    env = {
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
    }

    refused = CliRunner().invoke(cli, ["profile", "set", str(recoded)], env=env)

    assert refused.exit_code == 2, refused.output
    assert "the incidents already stored are coded in ucr-part1 for offense_category" in (
        " ".join(refused.stderr.split())
    )
    after = read_profile(public)
    assert after is not None and after.revision == before.revision


def test_a_draft_of_a_nibrs_export_reads_its_offence_codes(tmp_path: Path) -> None:
    export = write_csv(tmp_path / "nibrs.csv", NIBRS_HEADER, nibrs_rows())
    draft, _ = draft_file(export, "incidents")
    path = tmp_path / "draft.toml"
    path.write_text(draft.text, encoding="utf-8")

    rule = next(r for r in load_mapping(path).rules if r.target.name == "offense_category")
    assert rule.target.declared == "nibrs-group-a"
    assert rule.values == {**NIBRS_CODES, "90D": "other", "90Z": "other"}


def test_a_file_of_months_is_not_counted_by_weekday_or_hour(
    settings: Settings, engines: tuple[Engine, Engine], tmp_path: Path
) -> None:
    internal, public = engines
    ingest_file(internal, public, "areas", uk_areas(tmp_path), load_mapping("synthetic-areas"))
    street = write_csv(tmp_path / "2024-01-testshire-street.csv", STREET_HEADER, street_rows())
    env = {
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
    }

    result = CliRunner().invoke(
        cli,
        ["ingest", "incidents", str(street), "--mapping", "police-uk-street", "--dry-run"],
        env=env,
    )

    assert result.exit_code == 0, result.output
    assert "the dates give the month only: no counts per weekday or hour" in result.output
    assert "per hour:" not in result.output and "per weekday:" not in result.output
