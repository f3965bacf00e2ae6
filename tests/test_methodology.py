"""The methodology page says only what the code does.

Every paragraph of the page has an id, and ``CLAIMS`` names, for each, the tests that check
what it says; a paragraph without an entry, or an entry naming a test that does not exist,
fails here. Every decision the release engine lists has a test on neighbouring data sets.
Figures on the page come from the code and the releases, never from the template.
"""

from __future__ import annotations

import importlib
import math
import re
from html import unescape
from html.parser import HTMLParser

import pytest
from litestar.testing import TestClient

from portal.settings import Settings
from portal.web.app import create_app
from privacy.release.accounting import epsilon_for
from publishing.analysis.concentration import TOP
from publishing.analysis.windows import WINDOW_MONTHS
from publishing.audits import latest_audits
from publishing.catalog import load_catalog
from publishing.db import make_engine
from publishing.decisions import DECISIONS
from publishing.statement import CENSUS_2020, BudgetStatement, odds_of, plain_words

CLAIMS: dict[str, tuple[str, ...]] = {
    "what-is-published": (
        "tests/test_noise.py::test_the_charge_is_the_privacy_map_of_the_table_share",
        "tests/test_noise.py::test_drawn_noise_has_the_stated_spread",
        "tests/test_aggregate.py::test_removing_one_unit_moves_counts_by_at_most_the_sensitivity",
    ),
    "promise": (
        "tests/test_methodology.py::test_the_promise_reads_the_quarters_epsilon_as_odds",
        "tests/test_methodology.py::test_the_promise_speaks_of_the_unit_in_force",
    ),
    "comparison": (
        "tests/test_methodology.py::test_the_census_figures_agree_with_our_own_conversion",
        "tests/test_methodology.py::test_the_figures_on_the_page_come_from_the_code",
    ),
    "audit": (
        "tests/test_audit.py::test_a_sound_engine_is_never_caught",
        "tests/test_audit.py::test_a_broken_engine_is_caught",
        "tests/test_methodology.py::test_the_audit_on_the_page_is_the_one_in_the_store",
    ),
    "unit-text": (
        "tests/test_aggregate.py::test_a_person_is_bounded_in_the_query",
        "tests/test_budget_currencies.py::test_a_person_horizon_caps_every_quarter_of_its_year",
        "tests/test_release_promises.py::test_a_person_is_bounded_over_the_year",
    ),
    "budget-text": (
        "tests/test_release_promises.py::test_a_pure_dp_policy_is_refused_at_its_epsilon",
        "tests/test_release_promises.py::test_a_zcdp_policy_is_refused_at_its_rho",
        "tests/test_ledger.py::test_epsilon_is_openDPs_conversion_of_rho",
        "tests/test_ledger.py::test_sixteen_concurrent_releases_never_overspend",
        "tests/test_budget_currencies.py::test_sources_spend_in_parallel_under_the_record_unit",
        "tests/test_budget_currencies.py::test_sources_add_up_under_the_person_unit",
    ),
    "decisions-text": (
        "tests/test_release_promises.py::test_every_decision_is_the_same_on_neighbouring_data_sets",
        "tests/test_methodology.py::test_every_decision_has_a_test_on_neighbouring_data_sets",
    ),
    "intervals-text": (
        "tests/test_release_build.py::test_interval_coverage_over_two_thousand_releases",
    ),
    "intervals-derived": (
        "tests/test_analyses.py::test_a_hit_rate_ratio_by_the_delta_method",
        "tests/test_analyses.py::test_a_figure_is_never_shown_below_zero",
        "tests/test_analyses.py::test_a_chart_never_draws_a_count_below_zero",
    ),
    "post-processing-text": (
        "tests/test_hierarchy.py::test_the_two_passes_are_exactly_weighted_least_squares",
        "tests/test_hierarchy.py::test_published_integers_add_up_everywhere_and_shared_margins_agree",
        "tests/test_releases_store.py::test_a_release_reads_back_exactly_as_written",
    ),
    "profile-text": (
        "tests/test_profile.py::test_a_release_follows_the_profile",
        "tests/test_profile.py::test_the_profile_decides_the_same_on_neighbouring_data_sets",
        "tests/test_profile.py::test_the_site_says_what_is_not_recorded_and_what_is_partial",
        "tests/test_profile.py::test_ingesting_through_a_mapping_declares_what_it_records",
        "tests/test_methodology.py::test_the_page_shows_the_department_profile",
        "tests/test_vocabularies.py::test_an_english_force_publishes_its_own_headline_and_categories",
        "tests/test_vocabularies.py::test_an_agency_that_reports_nibrs_publishes_group_a_offences",
    ),
    "not-recorded": (
        "tests/test_aggregate.py::test_every_cell_of_the_key_set_is_counted_empty_ones_too",
        "tests/test_release_promises.py::test_an_empty_quarter_is_released_like_any_other",
    ),
    "focus-intro": (
        "tests/test_analyses.py::test_minneapolis_2017_through_ingest_release_and_analyses",
    ),
    "did": (
        "tests/test_analyses.py::test_difference_in_differences_by_hand",
        "tests/test_analyses.py::test_before_and_after_leave_out_the_month_the_start_falls_in",
        "tests/test_methodology.py::test_the_figures_on_the_page_come_from_the_code",
    ),
    "did-interval": (
        "tests/test_analyses.py::test_no_clear_change_is_said_when_the_interval_spans_zero",
        "tests/test_analyses.py::test_focus_area_intervals_cover_the_true_effect",
    ),
    "displacement": (
        "tests/test_analyses.py::test_the_weighted_displacement_quotient_by_hand",
        "tests/test_analyses.py::test_displacement_is_not_judged_without_a_clear_fall",
    ),
    "concentration-text": (
        "tests/test_analyses.py::test_top_shares_by_hand",
        "tests/test_analyses.py::test_a_top_share_lies_inside_its_own_interval",
        "tests/test_methodology.py::test_the_figures_on_the_page_come_from_the_code",
    ),
    "figures-text": (
        "tests/test_reports.py::"
        "test_each_figure_has_one_name_and_one_number_on_the_site_and_in_the_report",
    ),
    "contacts-text": (
        "tests/test_analyses.py::test_a_hit_rate_ratio_by_the_delta_method",
        "tests/test_policy.py::test_the_quarterly_policy_has_the_promised_tables",
        "tests/test_breakdowns.py::test_each_groups_reasons_match_its_records",
        "tests/test_analyses.py::test_minneapolis_2017_through_ingest_release_and_analyses",
    ),
    "data-text": (
        "tests/test_site.py::test_a_table_downloads_as_csv_and_json_exactly_as_exported",
        "tests/test_site.py::test_the_datapackage_validates_with_frictionless",
        "tests/test_site.py::test_the_openapi_schema_is_served",
    ),
}

# Each decision the engine lists, and the tests that make it on neighbouring data sets.
DECISION_TESTS: dict[str, tuple[str, ...]] = {
    "whether": (
        "tests/test_release_promises.py::test_an_empty_quarter_is_released_like_any_other",
        "tests/test_release_promises.py::test_every_decision_is_the_same_on_neighbouring_data_sets",
    ),
    "what": (
        "tests/test_release_promises.py::test_every_decision_is_the_same_on_neighbouring_data_sets",
        "tests/test_profile.py::test_the_profile_decides_the_same_on_neighbouring_data_sets",
        "tests/test_districts_only.py::test_the_shape_depends_on_the_declared_areas_only",
    ),
    "noise": (
        "tests/test_release_promises.py::test_every_decision_is_the_same_on_neighbouring_data_sets",
    ),
    "post-processing": (
        "tests/test_release_promises.py::test_every_decision_is_the_same_on_neighbouring_data_sets",
        "tests/test_calibrations.py::test_the_stored_calibration_is_what_the_shape_alone_gives",
    ),
    "bounding": (
        "tests/test_aggregate.py::test_removing_one_unit_moves_counts_by_at_most_the_sensitivity",
    ),
}


class _Paragraphs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str | None] = []
        self.text: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "p":
            self._open = dict(attrs).get("id")
            self.ids.append(self._open)
            if self._open:
                self.text[self._open] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.text[self._open] += data


def _exists(node: str) -> bool:
    path, name = node.split("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return callable(getattr(module, name, None))


@pytest.fixture(scope="module")
def page(published_city: Settings) -> tuple[str, _Paragraphs]:
    with TestClient(app=create_app(published_city)) as client:
        html = client.get("/methodology").text
    parsed = _Paragraphs()
    parsed.feed(html[html.index("<main") : html.index("</main>")])
    return html, parsed


def test_every_paragraph_names_the_tests_that_check_it(page: tuple[str, _Paragraphs]) -> None:
    _, paragraphs = page
    assert None not in paragraphs.ids, "every paragraph of the page needs an id and a claim"
    assert set(paragraphs.ids) == set(CLAIMS)
    missing = [n for tests in CLAIMS.values() for n in tests if not _exists(n)]
    assert missing == []


def test_every_decision_has_a_test_on_neighbouring_data_sets(
    page: tuple[str, _Paragraphs],
) -> None:
    html, _ = page
    assert {d.key for d in DECISIONS} == set(DECISION_TESTS)
    assert all(_exists(n) for tests in DECISION_TESTS.values() for n in tests)
    for decision in DECISIONS:
        assert f'id="decision-{decision.key}"' in html
        assert decision.depends_on.split(":")[0] in unescape(html)


def test_the_figures_on_the_page_come_from_the_code(
    published_city: Settings, page: tuple[str, _Paragraphs]
) -> None:
    html, paragraphs = page
    engine = make_engine(published_city.public_db_url, read_only=True)
    catalog = load_catalog(engine)
    engine.dispose()
    latest_period = catalog.periods[-1]
    statement = catalog.current[latest_period].statement
    odds = odds_of(statement)
    assert odds is not None

    assert f"up to {WINDOW_MONTHS} released months before" in paragraphs.text["did"]
    shares = ", ".join(f"{t}%" for t in TOP[:-1]) + f" and {TOP[-1]}%"
    assert f"busiest {shares} of beats" in paragraphs.text["concentration-text"]
    assert f"(ε, δ) = ({odds.epsilon:.3g}, {odds.delta:g})" in paragraphs.text["comparison"]
    assert f"ε = {CENSUS_2020.epsilon}" in paragraphs.text["comparison"]
    for period in catalog.periods:
        latest = [r for r in catalog.releases if r.period == period][-1].statement
        reading = odds_of(latest)
        assert reading is not None
        row = f'<th scope="row">{period}</th><td>1</td><td>{latest.currency_words}</td>'
        assert row in html
        assert f"({reading.epsilon:.3g}, {reading.delta:g})" in html


def test_the_promise_reads_the_quarters_epsilon_as_odds(page: tuple[str, _Paragraphs]) -> None:
    _, paragraphs = page
    promise = paragraphs.text["promise"]
    epsilon = float(re.search(r"at most e\^([0-9.]+)", promise)[1])  # type: ignore[index]
    factor = float(re.search(r"about ([0-9,]+),", promise)[1].replace(",", ""))  # type: ignore[index]
    sure = float(re.search(r"at most ([0-9.]+)% sure", promise)[1])  # type: ignore[index]
    assert factor == pytest.approx(math.exp(epsilon), rel=0.01, abs=1)
    assert sure == pytest.approx(100 * factor / (1 + factor), abs=0.1)
    assert "does not make a stop, crime report or use of force's presence undetectable" in promise
    # The finding: the page promised that no one could tell whether a stop is in the data.
    assert "no one can tell" not in page[0]


def _statement(**changes: object) -> BudgetStatement:
    raw: dict[str, object] = {
        "unit": "one record",
        "unit_kind": "record",
        "mechanism": "gaussian",
        "currency": "rho",
        "spent": 0.5,
        "rho": 0.5,
        "epsilon": 5.67,
        "delta": 1e-7,
        "period_cap": 0.5,
        "period_spent": 0.5,
        "period_epsilon": 5.67,
        "words": "",
    }
    return BudgetStatement.of(raw | changes)


def test_the_promise_speaks_of_the_unit_in_force() -> None:
    record = " ".join(plain_words(_statement(), "2025Q3"))
    assert "(5.67, 1e-07)-differentially private" in record
    assert "about 290," in record and "99.7% sure" in record
    assert "a person stopped several times in a quarter is protected less" in record

    pure = " ".join(
        plain_words(
            _statement(mechanism="laplace", currency="epsilon", epsilon=1.0, period_epsilon=1.0),
            "2025Q3",
        )
    )
    assert "(1, 0)-differentially private" in pure and "with no exception" in pure

    person = " ".join(
        plain_words(
            _statement(
                unit="one person",
                unit_kind="person",
                horizon="year 2025",
                horizon_cap=1.0,
                horizon_spent=0.5,
            ),
            "2025Q3",
        )
    )
    assert "every release in the horizon year 2025 spends from one cap" in person
    assert "a person stopped several times" not in person


def test_the_census_figures_agree_with_our_own_conversion() -> None:
    # The Bureau's own conversion differs from OpenDP's in the last digits only.
    assert epsilon_for(CENSUS_2020.rho, CENSUS_2020.delta) == pytest.approx(
        CENSUS_2020.epsilon, abs=0.05
    )


def test_the_audit_on_the_page_is_the_one_in_the_store(published_city: Settings) -> None:
    engine = make_engine(published_city.public_db_url, read_only=True)
    catalog = load_catalog(engine)
    engine.dispose()
    current = catalog.current[catalog.periods[-1]]
    audits = latest_audits(catalog.audits, current.policy_sha256)
    assert audits, "the demo audits the policy it releases under"
    with TestClient(app=create_app(published_city)) as client:
        html = unescape(client.get("/methodology").text)
    for audit in audits:
        row = (
            f'<th scope="row">{audit.table}</th><td>{audit.trials:,}</td>'
            f"<td>{audit.claimed_epsilon:.3g}</td><td>{audit.epsilon_lower_bound:.3g}</td>"
        )
        assert row in html
        assert audit.epsilon_lower_bound <= audit.claimed_epsilon


def test_the_page_shows_the_department_profile(
    published_city: Settings, page: tuple[str, _Paragraphs]
) -> None:
    html, _ = page
    engine = make_engine(published_city.public_db_url, read_only=True)
    profile = load_catalog(engine).profile
    engine.dispose()
    assert profile is not None and profile.name == "Riverton Police Department"
    table = unescape(html[html.index('<table id="profile-table">') :])
    table = table[: table.index("</table>")]
    assert f"{profile.name}: department profile, revision {profile.revision}" in table
    for source in ("Stops", "Reported crimes", "Uses of force"):
        assert f'<th scope="row">{source}</th><td>1 January 2023 to 31 December 2025</td>' in table
    assert "<li>Outcome: any code</li>" in table  # the canonical layout reads any code
