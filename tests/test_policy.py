"""Policy files: the shipped quarterly policy, and bad policies refused with what to fix."""

from __future__ import annotations

import math

import pytest

from privacy.release.policy import PolicyError, load_policy, parse_policy

GOOD = """
name = "p"
[budget]
rho = 0.5
[[tables]]
name = "a"
source = "stops"
dimensions = ["quarter", "district", "subject_race"]
weight = 0.5
[[tables]]
name = "c"
source = "stops"
dimensions = ["quarter", "outcome"]
weight = 0.50
[[tables]]
name = "b"
source = "incidents"
dimensions = ["month", "beat", "offense_category"]
where = { offense_category = ["robbery", "burglary"] }
weight = 1
"""


def test_the_quarterly_policy_has_the_promised_tables() -> None:
    policy = load_policy("quarterly")

    assert (policy.budget.mechanism, policy.budget.rho, policy.unit.kind) == (
        "gaussian",
        0.5,
        "record",
    )
    assert {t.name for t in policy.tables} == {
        "stops_by_month_beat",
        "stops_by_district_race",
        "stops_by_race",
        "stops_by_district_outcome",
        "stops_by_outcome",
        "searches_by_district_race",
        "searches_by_race",
        "search_hits_by_district_race",
        "search_hits_by_race",
        "stops_by_district_reason",
        "stops_by_reason_race",
        "stops_by_sex",
        "stops_by_age_band",
        "no_action_stops_by_month_beat",
        "force_by_district_race",
        "force_by_type",
        "incidents_by_month_beat_offense",
    }
    # Under the record unit each source's tables share the whole budget (parallel).
    for source in ("stops", "force", "incidents"):
        shares = [p.weight for p in policy.parts() if p.source == source]
        assert math.isclose(sum(shares), 1.0)
    hits = policy.table("search_hits_by_district_race")
    assert hits.where == (("search_conducted", ("yes",)), ("contraband_found", ("yes",)))
    assert len(policy.sha256) == 64 and "rho = 0.5" in policy.text


def test_a_good_policy_parses() -> None:
    policy = parse_policy(GOOD)
    assert [t.time_dimension for t in policy.tables] == ["quarter", "quarter", "month"]


LEVEL = """weight = 0.5
[[tables.levels]]
dimensions = ["quarter", "district"]
weight = 0.3
"""


def test_levels_split_a_tables_budget_and_say_what_they_mean() -> None:
    text = (
        GOOD.replace("weight = 0.5\n", LEVEL, 1)
        + """[[tables.levels]]
dimensions = ["month", "district"]
weight = 0.25
[[tables.levels]]
name = "b_by_month"
dimensions = ["month"]
weight = 0
"""
    )
    policy = parse_policy(text)
    parts = {p.name: p for p in policy.parts()}
    assert {name: round(p.weight, 6) for name, p in parts.items()} == {
        "a": 0.35,
        "a__quarter_district": 0.15,
        "c": 0.5,
        "b": 0.75,
        "b__month_district": 0.25,
        "b_by_month": 0.0,
    }
    assert not parts["b_by_month"].measured  # weight 0: added up to, not measured
    assert policy.table("b").meanings() == (
        ("month", "beat", "offense_category"),
        ("month", "district<beat"),
        ("month",),
    )


def test_a_person_unit_and_a_pure_dp_budget() -> None:
    text = GOOD.replace(
        "[budget]\nrho = 0.5",
        '[unit]\nkind = "person"\nmax_records_per_cell = 2'
        '\nmax_cells = 3\n[budget]\nmechanism = "laplace"\nepsilon = 1.0'
        '\nhorizon = "year"\nhorizon_epsilon = 3.0',
    )
    # Under a person unit all tables share one budget: their weights add up to 1.
    text = text.replace("weight = 0.5\n", "weight = 0.25\n").replace(
        "weight = 0.50", "weight = 0.25"
    )
    text = text.replace("weight = 1\n", "weight = 0.5\n")
    policy = parse_policy(text)
    assert (policy.unit.max_records_per_cell, policy.unit.max_cells) == (2, 3)
    assert (policy.budget.epsilon, policy.budget.rho) == (1.0, 0.5)
    assert (policy.budget.currency, policy.budget.cap) == ("epsilon", 1.0)
    assert (policy.budget.horizon, policy.budget.horizon_cap) == ("year", 3.0)
    assert policy.budget.horizon_account(2025) == "year 2025"
    assert "at most 2 time(s) in a cell and in at most 3 cell(s)" in policy.unit.describe()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("rho = 0.5", "rho = 0"), "rho must be a positive number, not 0"),
        (("rho = 0.5", "rho = -1"), "rho must be a positive number, not -1"),
        (
            ("weight = 0.5\n[[tables]]", "weight = 0.4\n[[tables]]"),
            "the stops tables' weights add up to 0.9, not 1; under the record unit each weight "
            "is that table's share of its source's budget",
        ),
        (
            ('"subject_race"]', '"shoe_size"]'),
            "unknown dimension 'shoe_size'; a stops table can use: month, quarter, beat, district",
        ),
        (('source = "incidents"', 'source = "arrests"'), "source must be one of stops"),
        (
            ('["robbery", "burglary"]', '["jaywalking"]'),
            "where.offense_category codes ['jaywalking'] are not in its vocabulary",
        ),
        (('["quarter", "district"', '["district"'), "exactly one time dimension is needed"),
        (('name = "b"', 'name = "a"'), "table and level names must be unique: ['a']"),
        (
            ("weight = 0.5\n", LEVEL.replace('["quarter", "district"]', '["month"]')),
            "level 1 ['month'] is not a roll-up of ['quarter', 'district', 'subject_race']",
        ),
        (
            ("weight = 0.5\n", LEVEL.replace("0.3", "1.0")),
            "level 1 weight must be a number from 0 to 1",
        ),
        (
            (
                "weight = 0.5\n",
                LEVEL + '[[tables.levels]]\ndimensions = ["quarter"]\nweight = 0.7\n',
            ),
            "the levels' weights add up to 1; they must leave",
        ),
        (("rho = 0.5", "rho = 0.5\nsigma = 2"), "[budget] unknown keys ['sigma']"),
        (
            ("rho = 0.5", 'rho = 0.5\nhorizon = "year"\nhorizon_rho = 2'),
            "horizon is for a person unit: under the record unit every record falls in one quarter",
        ),
        (
            (
                "[budget]",
                '[unit]\nkind = "person"\nmax_records_per_cell = 1\nmax_cells = 2\n[budget]',
            ),
            'a person unit needs horizon = "year" (a calendar year) or "portal"',
        ),
        (
            (
                "rho = 0.5",
                'rho = 0.5\nhorizon = "year"\nhorizon_rho = 0.1\n[unit]\nkind = "person"\n'
                "max_records_per_cell = 1\nmax_cells = 2",
            ),
            "horizon_rho must be a number at least the quarter's rho (0.5)",
        ),
    ],
    ids=[
        "zero rho",
        "negative rho",
        "weights",
        "unknown dimension",
        "unknown source",
        "unknown code",
        "no time dimension",
        "duplicate table",
        "level not a roll-up",
        "level weight",
        "levels take it all",
        "unknown budget key",
        "record unit with a horizon",
        "person unit without a horizon",
        "horizon below a quarter",
    ],
)
def test_a_bad_policy_says_what_to_fix(change: tuple[str, str], message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(GOOD.replace(*change, 1))
    assert message in str(error.value)


def test_tables_of_the_same_records_must_nest_their_levels_alike() -> None:
    table = """[[tables]]
name = "{name}"
source = "stops"
dimensions = ["month", "district", "{category}"]
weight = 0.5
[[tables.levels]]
dimensions = ["month", "district"]
weight = 0.2
[[tables.levels]]
dimensions = {up}
weight = 0.2
"""
    text = (
        'name = "p"\n[budget]\nrho = 1\n'
        + table.format(name="a", category="outcome", up='["quarter", "district"]')
        + table.format(name="b", category="reason", up='["month"]')
    )

    with pytest.raises(
        PolicyError,
        match=r"tables 'a' and 'b' both have the level "
        r"\['month', 'district'\] but roll it up differently",
    ):
        parse_policy(text)
    parse_policy(
        text.replace('kind = "record"', "").replace(
            "[budget]",
            '[unit]\nkind = "person"\nmax_records_per_cell = 1\nmax_cells = 1\n[budget]\n'
            'horizon = "portal"\nhorizon_rho = 2.0',
        )
    )  # a person unit's tables are bounded, and post-processed, one by one


def test_an_unknown_policy_name_lists_the_shipped_ones() -> None:
    with pytest.raises(
        PolicyError, match="no policy named 'yearly'; shipped policies are: quarterly"
    ):
        load_policy("yearly")


def test_quarters_know_their_window_months_and_successor() -> None:
    from datetime import date, datetime

    from privacy.release.periods import PeriodError, Quarter

    q4 = Quarter.parse("2024q4")
    assert (str(q4), q4.start, q4.end) == ("2024Q4", datetime(2024, 10, 1), datetime(2025, 1, 1))
    assert q4.months == ("2024-10", "2024-11", "2024-12")
    assert (str(q4.next()), str(Quarter.containing(date(2023, 5, 31)))) == ("2025Q1", "2023Q2")
    with pytest.raises(PeriodError, match="write it like 2025Q3"):
        Quarter.parse("2024-Q5")
