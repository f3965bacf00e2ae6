"""Interval calibrations kept in the internal store, so a release need not re-simulate.

The simulation behind the intervals (:mod:`privacy.release.intervals`) costs a few tenths of
a second for the quarterly policy (more than counting a quarter of a million records) and
depends only on the release's shape and noise. Each quarterly release is usually a process
of its own (``portal release build``), so remembering it in the process alone would pay that
every quarter.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from privacy.release.intervals import IN_PROCESS, Floats, InProcess
from privacy.store.audit import utc_now
from privacy.store.models import IntervalCalibration


class StoredCalibrations:
    """Half-widths looked up in the process first, then in the internal store; a new
    simulation is written to both. Nothing here comes from or says anything about a
    record."""

    def __init__(self, internal: Engine, in_process: InProcess = IN_PROCESS) -> None:
        self.internal, self.in_process = internal, in_process

    def get(self, key: str, nodes: int) -> Floats | None:
        """The half-widths remembered under ``key``, or None (also when the stored row
        does not hold ``nodes`` values: it is then simulated again, never trusted)."""
        found = self.in_process.get(key, nodes)
        if found is not None:
            return found
        with self.internal.connect() as connection:
            stored = connection.execute(
                select(IntervalCalibration.half_widths).where(IntervalCalibration.key == key)
            ).scalar()
        if stored is None or len(stored) != nodes * 8:
            return None
        half: Floats = np.frombuffer(stored, dtype="<f8").astype(np.float64)
        self.in_process.put(key, half, 0)
        return half

    def put(self, key: str, half: Floats, draws: int) -> None:
        """Remember ``half`` in the process and in the store."""
        self.in_process.put(key, half, draws)
        try:
            with self.internal.begin() as connection:
                connection.execute(
                    insert(IntervalCalibration).values(
                        key=key,
                        nodes=len(half),
                        draws=draws,
                        half_widths=np.ascontiguousarray(half, dtype="<f8").tobytes(),
                        created_at=utc_now(),
                    )
                )
        except IntegrityError:
            pass  # another release of the same shape stored the same values first
