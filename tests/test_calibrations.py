"""The intervals' simulation is run once per release shape and kept in the internal store.

Each quarter's ``portal release build`` is a process of its own; without the store, each
would simulate again (about a second for the quarterly policy)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine, Row, func, select

from privacy.release import apart, build, intervals, shape
from privacy.release.apart import forking
from privacy.release.build import build_release
from privacy.release.calibrations import StoredCalibrations
from privacy.release.noise import MeasurementMismatch, plan_measurement
from privacy.release.parts import measured_parts
from privacy.release.periods import Quarter
from privacy.release.policy import load_policy
from privacy.release.postprocess import PostProcessor, release_hierarchy
from privacy.store.models import BudgetCharge, IntervalCalibration
from publishing.areas import area_codes, beat_districts

QUARTERLY = load_policy("quarterly")


def stored(internal: Engine) -> list[Row[tuple[str, int, int, bytes]]]:
    with internal.connect() as connection:
        return list(
            connection.execute(
                select(
                    IntervalCalibration.key,
                    IntervalCalibration.nodes,
                    IntervalCalibration.draws,
                    IntervalCalibration.half_widths,
                )
            )
        )


def test_the_next_release_in_a_new_process_reads_the_calibration_instead_of_simulating(
    ingested_city: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    internal, public = ingested_city
    build_release(internal, public, "2024Q3", QUARTERLY)
    (calibration,) = stored(internal)
    intervals.IN_PROCESS.clear()

    def no_simulation(*_: object) -> None:
        raise AssertionError("the stored calibration should have been used")

    monkeypatch.setattr(intervals, "_simulate", no_simulation)
    built = build_release(internal, public, "2024Q4", QUARTERLY)

    assert built.cells > 0
    assert [c.key for c in stored(internal)] == [calibration.key]
    assert calibration.draws >= intervals.DRAWS and calibration.nodes * 8 == len(
        calibration.half_widths
    )


def test_the_stored_calibration_is_what_the_shape_alone_gives(
    ingested_city: tuple[Engine, Engine],
) -> None:
    internal, public = ingested_city
    build_release(internal, public, "2024Q3", QUARTERLY)
    (calibration,) = stored(internal)

    # The same simulation from a shape with every count zero, remembered nowhere else.
    quarter, areas = Quarter.parse("2024Q3"), area_codes(public)
    zero_parts = [
        part
        for spec in QUARTERLY.tables
        for part in measured_parts(
            shape.no_counts(spec, quarter, areas),
            quarter,
            QUARTERLY.unit,
            areas,
            beat_districts(public),
        )
    ]
    planned = [
        plan_measurement(p.part, QUARTERLY.budget, p.sensitivity, len(p.keys))
        if p.part.measured
        else None
        for p in zero_parts
    ]
    processor = PostProcessor(
        release_hierarchy(zero_parts), zero_parts, planned, calibrations=intervals.InProcess()
    )

    assert np.array_equal(np.frombuffer(calibration.half_widths, dtype="<f8"), processor.half)


def test_a_stored_calibration_of_the_wrong_size_is_not_trusted(
    engines: tuple[Engine, Engine],
) -> None:
    internal, _ = engines
    calibrations = StoredCalibrations(internal, intervals.InProcess())
    calibrations.put("k" * 64, np.array([1.5, 2.5, 3.5]), draws=1000)

    assert calibrations.get("k" * 64, 3) is not None
    fresh = StoredCalibrations(internal, intervals.InProcess())  # nothing in its memory
    np.testing.assert_array_equal(fresh.get("k" * 64, 3), [1.5, 2.5, 3.5])
    assert fresh.get("k" * 64, 4) is None
    calibrations.put("k" * 64, np.array([9.0, 9.0, 9.0]), draws=1000)  # a second write
    assert StoredCalibrations(internal, intervals.InProcess()).get("k" * 64, 3) is not None


def test_a_release_simulates_its_calibration_in_a_child_beside_its_count(
    ingested_city: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    internal, public = ingested_city
    simulated_in = tmp_path / "simulated-in"
    simulate = intervals._simulate

    def simulate_and_say_where(*args: Any) -> Any:
        with simulated_in.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return simulate(*args)

    monkeypatch.setattr(intervals, "_simulate", simulate_and_say_where)
    build_release(internal, public, "2024Q3", QUARTERLY)

    (pid,) = simulated_in.read_text().split()
    assert int(pid) != os.getpid() or not forking()
    (calibration,) = stored(internal)
    assert calibration.nodes * 8 == len(calibration.half_widths)


def test_a_calibration_that_cannot_be_simulated_spends_nothing(
    ingested_city: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    internal, public = ingested_city

    def broken(*_: object) -> None:
        raise MemoryError("no room for the simulation")

    monkeypatch.setattr(intervals, "_simulate", broken)
    with pytest.raises(MemoryError):
        build_release(internal, public, "2024Q3", QUARTERLY)

    with internal.connect() as connection:
        assert connection.execute(select(func.count()).select_from(BudgetCharge)).scalar() == 0
    assert stored(internal) == []


@pytest.fixture
def forked_children(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The children the releases fork from now on, each simulating for a minute (so that
    one left running would be seen)."""
    parent = os.getpid()
    simulate, fork = intervals._simulate, apart.Apart._fork
    children: list[int] = []

    def slow_in_the_child(*args: Any) -> Any:
        if os.getpid() != parent:
            time.sleep(60)
        return simulate(*args)

    def forked(self: apart.Apart) -> None:
        fork(self)
        children.append(self._pid or 0)

    monkeypatch.setattr(intervals, "_simulate", slow_in_the_child)
    monkeypatch.setattr(apart.Apart, "_fork", forked)
    return children


@pytest.mark.skipif(not forking(), reason="the simulation is forked on Linux only")
def test_the_simulation_starts_before_the_measurements_where_the_server_counts(
    ingested_city: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The simulation needs the noise's scales only. Started after OpenDP's measurements
    # (60 ms for the quarterly policy), it kept PostgreSQL's first release of a shape
    # waiting; on SQLite, whose count takes longer, it starts after them, so that it and
    # the measurements do not both take turns with the count.
    internal, public = ingested_city
    children: list[int] = []
    children_when_measured: list[int] = []
    fork = apart.Apart._fork

    def forked(self: apart.Apart) -> None:
        fork(self)
        children.append(self._pid or 0)

    def measured(*args: Any) -> Any:
        children_when_measured.append(len(children))
        return plan_measurement(*args)

    monkeypatch.setattr(apart.Apart, "_fork", forked)
    monkeypatch.setattr(shape, "plan_measurement", measured)
    build_release(internal, public, "2024Q3", QUARTERLY)

    assert len(children) == 1
    started_first = internal.dialect.name == "postgresql"
    assert children_when_measured and set(children_when_measured) == {int(started_first)}


def _refused(*_: object) -> None:
    raise build.ReleaseRefused("2024Q3 was released already under this policy")


def _mismatch(*_: object) -> None:
    raise MeasurementMismatch("OpenDP's privacy map gives more than planned")


def _disk_error(*_: object) -> None:
    raise OSError("disk I/O error")


def _interrupted(*_: object, **__: object) -> None:
    raise KeyboardInterrupt  # as a signal would, while the release waits for it


@pytest.mark.skipif(not forking(), reason="the simulation is forked on Linux only")
@pytest.mark.parametrize(
    ("where", "raised", "started_on_sqlite"),
    [
        pytest.param((build, "_refuse_repeat", _refused), build.ReleaseRefused, False, id="repeat"),
        pytest.param((build, "prepare", _interrupted), KeyboardInterrupt, False, id="interrupt"),
        pytest.param((shape, "plan_measurement", _mismatch), MeasurementMismatch, False, id="map"),
        pytest.param((build, "counted_parts", _disk_error), OSError, True, id="count"),
    ],
)
def test_a_release_that_fails_before_its_charge_ends_the_simulation_it_started(
    ingested_city: tuple[Engine, Engine],
    monkeypatch: pytest.MonkeyPatch,
    forked_children: list[int],
    where: tuple[Any, str, Any],
    raised: type[BaseException],
    started_on_sqlite: bool,
) -> None:
    internal, public = ingested_city
    monkeypatch.setattr(*where)
    with pytest.raises(raised) as failed:  # keeps the traceback, and all it refers to
        build.build_release(internal, public, "2024Q3", QUARTERLY)

    assert failed.traceback  # still held while the children are looked at
    # PostgreSQL starts the simulation at once; SQLite once the measurements are built.
    started = started_on_sqlite or internal.dialect.name == "postgresql"
    assert len(forked_children) == started
    for child in forked_children:
        with pytest.raises(ProcessLookupError):  # killed and reaped, not left a zombie
            os.kill(child, 0)
    with internal.connect() as connection:
        assert connection.execute(select(func.count()).select_from(BudgetCharge)).scalar() == 0
    assert stored(internal) == []
