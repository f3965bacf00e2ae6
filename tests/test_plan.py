"""``portal release plan``: what a release would publish, cost and how precise it would be,
worked out from the policy, the areas and the ledger, with no record read and nothing
spent."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from portal.cli import cli
from portal.settings import Settings
from privacy.release import intervals
from privacy.release.build import ReleaseRefused, build_release
from privacy.release.plan import plan_release
from privacy.release.policy import load_policy
from privacy.store.models import BudgetCharge, ForceEvent, Incident, Stop
from publishing.releases import read_release

QUARTERLY = load_policy("quarterly")


def count(internal: Engine, model: type) -> int:
    with internal.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_plan_spends_nothing_and_describes_the_release_that_follows(
    ingested_city: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    internal, public = ingested_city

    plan = plan_release(internal, public, "2024Q3", QUARTERLY)

    assert count(internal, BudgetCharge) == 0
    assert plan.fits and plan.budget.spent == 0 and plan.refusal is None
    assert plan.rho == pytest.approx(QUARTERLY.budget.rho)
    # Each source's tables share the whole quarter (no record is of two sources): the
    # release spends one source's share, not the sum of the three.
    assert plan.spend == pytest.approx(QUARTERLY.budget.rho)
    assert plan.epsilon > plan.rho and plan.delta == QUARTERLY.budget.delta
    assert [t.name for t in plan.tables] == [p.name for p in QUARTERLY.parts() if p.measured]
    assert all(0 < t.half_width < 6 * t.noise_scale for t in plan.tables)
    # Coarser levels carry more noise each, but add up many cells: they are still at least
    # as precise as the noise of their own measurement alone would make them.
    assert all(t.half_width <= 1.96 * t.noise_scale + 1 for t in plan.tables if t.level_of)

    # The release reads the plan's calibration instead of simulating it again.
    intervals.IN_PROCESS.clear()
    monkeypatch.setattr(intervals, "_simulate", lambda *_: pytest.fail("simulated again"))
    built = build_release(internal, public, "2024Q3", QUARTERLY)
    release = read_release(public, built.release_id)
    assert release is not None
    assert {t.name: t.noise_scale for t in release.tables} == {
        t.name: t.noise_scale for t in plan.tables
    }
    assert sum(len(t.cells) for t in release.tables) == sum(t.cells for t in plan.tables)

    after = plan_release(internal, public, "2024Q3", QUARTERLY)
    assert after.budget.spent == pytest.approx(plan.spend) and not after.fits
    assert after.refusal is not None and "already charged under this policy" in after.refusal


def test_a_plan_needs_areas_but_no_records(engines: tuple[Engine, Engine]) -> None:
    internal, public = engines
    with pytest.raises(ReleaseRefused, match="portal ingest areas"):
        plan_release(internal, public, "2024Q3", QUARTERLY)


def test_the_plan_command_prints_json_and_needs_no_record(
    settings: Settings, ingested_city: tuple[Engine, Engine]
) -> None:
    internal, _ = ingested_city
    with internal.begin() as connection:  # a plan must not need a single record
        for model in (Stop, Incident, ForceEvent):
            connection.execute(model.__table__.delete())

    env = {
        "PORTAL_DATA_DIR": str(settings.data_dir),
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
    }
    result = CliRunner().invoke(cli, ["release", "plan", "--period", "2024Q3", "--json"], env=env)

    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["period"] == "2024Q3" and plan["fits"] is True
    assert plan["remaining"] == pytest.approx(QUARTERLY.budget.rho)
    assert (plan["currency"], plan["period_currency"]) == ("rho", "rho")
    assert {t["name"] for t in plan["tables"]} >= {"stops_by_month_beat", "stops_in_quarter"}
    assert count(internal, BudgetCharge) == 0
