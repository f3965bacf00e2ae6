"""The ledger speaks each policy's own currency, bounds a person over a horizon, and guards
against a second release of a period under its lock."""

from __future__ import annotations

import math
import multiprocessing
import time
from datetime import datetime

import pytest
from sqlalchemy import Engine

from portal.settings import Settings
from privacy.release.ledger import (
    AlreadyCharged,
    BudgetExceeded,
    Charge,
    ChargeRequest,
    LedgerConflict,
    charge_budget,
    horizon_budgets,
    period_budgets,
)
from privacy.release.policy import Currency, Horizon


def laplace(table: str, epsilon: float) -> Charge:
    return Charge(
        table,
        "stops",
        "laplace",
        1.0,
        1 / epsilon,
        rho=epsilon**2 / 2,
        epsilon=epsilon,
        epsilon_shown=epsilon,
        delta_shown=0.0,
    )


def gaussian(table: str, rho: float) -> Charge:
    return Charge(
        table,
        "stops",
        "gaussian",
        1.0,
        1 / math.sqrt(2 * rho),
        rho=rho,
        epsilon=None,
        epsilon_shown=1.0,
        delta_shown=1e-7,
    )


def ask(
    key: str,
    charges: tuple[Charge, ...],
    *,
    currency: Currency,
    cap: float,
    period: str = "2025Q3",
    unit_kind: str = "record",
    horizon: Horizon | None = None,
    horizon_cap: float | None = None,
    policy: str = "p",
    rerelease: bool = True,
) -> ChargeRequest:
    year = period[:4]
    return ChargeRequest(
        release_id=key,
        period=period,
        policy_name="test",
        policy_sha256=policy.rjust(64, "0"),
        currency=currency,
        cap=cap,
        unit_kind=unit_kind,
        unit="one " + unit_kind,
        window_start=datetime(2025, 7, 1),
        window_end=datetime(2025, 10, 1),
        charges=charges,
        horizon=None if horizon is None else ("portal" if horizon == "portal" else f"year {year}"),
        horizon_kind=horizon,
        horizon_cap=horizon_cap,
        rerelease=rerelease,
        actor="test",
    )


FIVE_TABLES = tuple(laplace(f"t{i}", 0.2) for i in range(5))


def test_a_pure_dp_period_counts_epsilons_and_refuses_the_second_release(
    engines: tuple[Engine, Engine],
) -> None:
    # The finding: epsilon = 1 a quarter, five tables of weight 0.2. Kept as rho, the cap of
    # 0.5 let five such releases through (epsilon 5 in all). Counted in epsilon, one fits.
    internal, _ = engines
    receipt = charge_budget(internal, ask("r1", FIVE_TABLES, currency="epsilon", cap=1.0))
    assert (receipt.period.currency, receipt.period.spent) == ("epsilon", pytest.approx(1.0))

    with pytest.raises(BudgetExceeded, match=r"asks for epsilon=1 of 2025Q3's budget"):
        charge_budget(internal, ask("r2", FIVE_TABLES, currency="epsilon", cap=1.0))

    (budget,) = period_budgets(internal)
    assert (budget.currency, budget.cap, budget.charges) == ("epsilon", 1.0, 5)
    assert budget.spent == pytest.approx(1.0)


def test_a_zcdp_period_counts_rhos(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines
    spent = []
    for n in range(10):
        try:
            charge_budget(internal, ask(f"r{n}", (gaussian("t", 0.15),), currency="rho", cap=0.5))
            spent.append(0.15)
        except BudgetExceeded:
            break
    (budget,) = period_budgets(internal)
    assert len(spent) == 3 and budget.spent == pytest.approx(0.45)
    assert budget.spent <= budget.cap


def test_a_pure_dp_release_may_spend_a_rho_period_but_not_the_reverse(
    engines: tuple[Engine, Engine],
) -> None:
    internal, _ = engines
    charge_budget(internal, ask("r1", (gaussian("t", 0.1),), currency="rho", cap=0.5))
    # epsilon-DP implies epsilon^2 / 2-zCDP: 0.5^2 / 2 = 0.125 of the rho period.
    charge_budget(internal, ask("r2", (laplace("t", 0.5),), currency="epsilon", cap=1.0))
    (rho_period,) = period_budgets(internal)
    assert rho_period.currency == "rho" and rho_period.spent == pytest.approx(0.225)

    charge_budget(
        internal, ask("r3", (laplace("t", 0.5),), currency="epsilon", cap=1.0, period="2025Q4")
    )
    with pytest.raises(LedgerConflict, match="counts pure-DP epsilon"):
        charge_budget(
            internal, ask("r4", (gaussian("t", 0.1),), currency="rho", cap=0.5, period="2025Q4")
        )


def test_one_period_protects_one_unit(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines
    charge_budget(internal, ask("r1", (gaussian("t", 0.1),), currency="rho", cap=0.5))
    with pytest.raises(LedgerConflict, match="protects one record"):
        charge_budget(
            internal,
            ask(
                "r2",
                (gaussian("t", 0.1),),
                currency="rho",
                cap=0.5,
                unit_kind="person",
                horizon="year",
                horizon_cap=1.0,
            ),
        )


def test_a_person_horizon_caps_every_quarter_of_its_year(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines

    def person(key: str, period: str) -> ChargeRequest:
        return ask(
            key,
            (gaussian("t", 0.3),),
            currency="rho",
            cap=0.5,
            period=period,
            unit_kind="person",
            horizon="year",
            horizon_cap=1.0,
        )

    for key, period in (("a", "2025Q1"), ("b", "2025Q2"), ("c", "2025Q3")):
        charge_budget(internal, person(key, period))
    # Each quarter has 0.2 left, but the year has only 0.1 left of its 1.0.
    with pytest.raises(BudgetExceeded, match=r"person unit's budget for year 2025"):
        charge_budget(internal, person("d", "2025Q4"))
    charge_budget(internal, person("e", "2026Q1"))  # a new year, a new horizon

    horizons = {h.horizon: h for h in horizon_budgets(internal)}
    assert horizons["year 2025"].spent == pytest.approx(0.9)
    assert horizons["year 2025"].spent <= horizons["year 2025"].cap
    assert horizons["year 2026"].spent == pytest.approx(0.3)
    # The horizon's bound would not hold over a record-unit quarter inside it.
    with pytest.raises(LedgerConflict, match="lies in the person unit's horizon year 2025"):
        charge_budget(
            internal, ask("f", (gaussian("t", 0.1),), currency="rho", cap=0.5, period="2025Q4")
        )


def test_a_person_horizon_cannot_cover_a_record_unit_quarter(
    engines: tuple[Engine, Engine],
) -> None:
    internal, _ = engines
    charge_budget(
        internal, ask("r", (gaussian("t", 0.1),), currency="rho", cap=0.5, period="2024Q2")
    )
    with pytest.raises(LedgerConflict, match="2024Q2 was released under the record unit"):
        charge_budget(
            internal,
            ask(
                "p",
                (gaussian("t", 0.1),),
                currency="rho",
                cap=0.5,
                period="2025Q1",
                unit_kind="person",
                horizon="portal",
                horizon_cap=2.0,
            ),
        )


def test_a_second_release_under_one_policy_is_refused_unless_asked(
    engines: tuple[Engine, Engine],
) -> None:
    internal, _ = engines
    first = ask("r1", (gaussian("t", 0.1),), currency="rho", cap=0.5, rerelease=False)
    charge_budget(internal, first)

    with pytest.raises(AlreadyCharged, match="2025Q3 was already charged under this policy"):
        charge_budget(
            internal, ask("r2", (gaussian("t", 0.1),), currency="rho", cap=0.5, rerelease=False)
        )
    charge_budget(internal, ask("r3", (gaussian("t", 0.1),), currency="rho", cap=0.5))
    assert period_budgets(internal)[0].spent == pytest.approx(0.2)


def _first_release(url: str, key: str, start: float) -> bool:
    from publishing.db import make_engine

    engine = make_engine(url)
    time.sleep(max(0.0, start - time.time()))
    try:
        charge_budget(
            engine, ask(key, (gaussian("t", 0.01),), currency="rho", cap=0.5, rerelease=False)
        )
        return True
    except AlreadyCharged:
        return False
    finally:
        engine.dispose()


def test_eight_concurrent_first_releases_charge_once(settings: Settings) -> None:
    # The finding: eight concurrent builds without --rerelease published three releases of
    # one quarter, because the guard looked before the ledger's lock was taken.
    start = time.time() + 4.0
    context = multiprocessing.get_context("fork")
    with context.Pool(8) as pool:
        results = pool.starmap(
            _first_release, [(settings.internal_db_url, f"r{n}", start) for n in range(8)]
        )

    from publishing.db import make_engine

    engine = make_engine(settings.internal_db_url)
    (budget,) = period_budgets(engine)
    engine.dispose()
    assert sum(results) == 1 and budget.charges == 1


def _of(source: str, rho: float) -> Charge:
    return Charge(
        f"{source}_table",
        source,
        "gaussian",
        1.0,
        1 / math.sqrt(2 * rho),
        rho=rho,
        epsilon=None,
        epsilon_shown=1.0,
        delta_shown=1e-7,
    )


def test_sources_spend_in_parallel_under_the_record_unit(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines
    every_source = (_of("stops", 0.5), _of("incidents", 0.5), _of("force", 0.5))

    receipt = charge_budget(internal, ask("r1", every_source, currency="rho", cap=0.5))

    # No record is of two sources: the release costs its busiest source, 0.5, not 1.5.
    assert receipt.period.spent == pytest.approx(0.5)
    assert dict(receipt.period.by_source) == pytest.approx(
        {"stops": 0.5, "incidents": 0.5, "force": 0.5}
    )
    with pytest.raises(BudgetExceeded, match="each source spends the cap on its own"):
        charge_budget(internal, ask("r2", (_of("force", 0.01),), currency="rho", cap=0.5))


def test_sources_add_up_under_the_person_unit(engines: tuple[Engine, Engine]) -> None:
    internal, _ = engines
    person = {"unit_kind": "person", "horizon": "portal", "horizon_cap": 5.0}
    charge_budget(internal, ask("p1", (_of("stops", 0.3),), currency="rho", cap=0.5, **person))  # type: ignore[arg-type]

    # One person may be stopped and have force used on them: their losses add up.
    with pytest.raises(BudgetExceeded, match=r"asks for rho=0\.3"):
        charge_budget(internal, ask("p2", (_of("force", 0.3),), currency="rho", cap=0.5, **person))  # type: ignore[arg-type]
    (budget,) = period_budgets(internal)
    assert budget.spent == pytest.approx(0.3)
