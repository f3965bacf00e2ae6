"""The budget ledger: charges are committed whole, and a period can never be overspent."""

from __future__ import annotations

import math
import multiprocessing
import time
from datetime import datetime

import pytest
from sqlalchemy import Engine, func, select

from portal.settings import Settings
from privacy.release.accounting import epsilon_for
from privacy.release.ledger import (
    BudgetExceeded,
    Charge,
    ChargeRequest,
    charge_budget,
    period_budgets,
)
from privacy.store.models import BudgetCharge


def request(
    release_id: str,
    *rhos: float,
    period: str = "2025Q3",
    cap: float = 0.5,
    policy_sha256: str | None = None,
) -> ChargeRequest:
    """A zCDP release's charges; each release a policy of its own unless told otherwise."""
    return ChargeRequest(
        release_id=release_id,
        period=period,
        policy_name="quarterly",
        policy_sha256=policy_sha256 or release_id.rjust(64, "0"),
        currency="rho",
        cap=cap,
        unit_kind="record",
        unit="one record",
        window_start=datetime(2025, 7, 1),
        window_end=datetime(2025, 10, 1),
        actor="test",
        charges=tuple(
            Charge(
                f"table_{i}",
                "stops",
                "gaussian",
                1.0,
                1 / math.sqrt(2 * rho),
                rho=rho,
                epsilon=None,
                epsilon_shown=epsilon_for(rho, 1e-7),
                delta_shown=1e-7,
            )
            for i, rho in enumerate(rhos)
        ),
    )


def test_charges_add_up_per_period(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines

    charge_budget(internal, request("r1", 0.1, 0.2))
    after = charge_budget(internal, request("r2", 0.15))
    charge_budget(internal, request("r3", 0.3, period="2025Q4"))

    assert math.isclose(after.period.spent, 0.45) and math.isclose(after.period.remaining, 0.05)
    budgets = {b.period: b for b in period_budgets(internal)}
    assert sorted(budgets) == ["2025Q3", "2025Q4"]
    assert (budgets["2025Q3"].charges, budgets["2025Q4"].charges) == (3, 1)
    assert {b.currency for b in budgets.values()} == {"rho"}
    assert math.isclose(budgets["2025Q4"].remaining, 0.2)


def test_an_overspend_is_refused_whole_with_what_remains(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines
    charge_budget(internal, request("r1", 0.4))

    with pytest.raises(BudgetExceeded) as refused:
        charge_budget(internal, request("r2", 0.05, 0.1))

    message = str(refused.value)
    assert "release r2 asks for rho=0.15 of 2025Q3's budget, but only rho=0.1" in message
    assert "Nothing was charged and no noise was drawn" in message
    with internal.connect() as connection:
        assert connection.execute(select(func.count()).select_from(BudgetCharge)).scalar() == 1


def test_the_first_release_fixes_the_cap(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines
    charge_budget(internal, request("r1", 0.25, cap=0.3))

    with pytest.raises(BudgetExceeded, match="cannot be raised"):
        charge_budget(internal, request("r2", 0.25, cap=10.0))


def test_epsilon_is_openDPs_conversion_of_rho() -> None:
    rho, delta = 0.5, 1e-7
    textbook = rho + 2 * math.sqrt(rho * math.log(1 / delta))

    epsilon = epsilon_for(rho, delta)

    assert rho < epsilon < textbook  # tighter than the textbook bound, never below rho
    assert epsilon_for(2 * rho, delta) > epsilon


def _charge_at(url: str, release_id: str, start: float) -> bool:
    from publishing.db import make_engine

    engine = make_engine(url)
    time.sleep(max(0.0, start - time.time()))
    try:
        charge_budget(engine, request(release_id, 0.1))
        return True
    except BudgetExceeded:
        return False
    finally:
        engine.dispose()


def test_sixteen_concurrent_releases_never_overspend(settings: Settings) -> None:
    start = time.time() + 4.0  # all sixteen charge at the same moment
    context = multiprocessing.get_context("fork")  # the test process runs no other thread
    with context.Pool(16) as pool:
        results = pool.starmap(
            _charge_at, [(settings.internal_db_url, f"r{n}", start) for n in range(16)]
        )

    from publishing.db import make_engine

    engine = make_engine(settings.internal_db_url)
    (budget,) = period_budgets(engine)
    engine.dispose()
    assert sum(results) == 5  # 5 x 0.1 fit under the cap of 0.5
    assert budget.spent <= budget.cap + 1e-12
    assert math.isclose(budget.spent, 0.5)


def test_portal_budget_prints_each_period(settings: Settings) -> None:
    import json as json_module

    from click.testing import CliRunner

    from portal.cli import cli
    from publishing.db import make_engine

    engine = make_engine(settings.internal_db_url)
    charge_budget(engine, request("r1", 0.1, 0.15))
    engine.dispose()
    env = {
        "PORTAL_INTERNAL_DB_URL": settings.internal_db_url,
        "PORTAL_PUBLIC_DB_URL": settings.public_db_url,
        "COLUMNS": "200",
    }

    as_json = CliRunner().invoke(cli, ["budget", "--json"], env=env)
    as_table = CliRunner().invoke(cli, ["budget"], env=env)

    assert json_module.loads(as_json.stdout) == {
        "periods": [
            {
                "period": "2025Q3",
                "unit": "record",
                "currency": "rho",
                "cap": 0.5,
                "spent": 0.25,
                "remaining": 0.25,
                "charges": 2,
                "releases": 1,
                "unpublished": ["r1"],
            }
        ],
        "horizons": [],
    }
    assert "2025Q3" in as_table.stdout and "0.25" in as_table.stdout
    # r1 was charged and never published: the table says so.
    assert "charged, not published: release key r1 charged 2025Q3" in as_table.stdout
