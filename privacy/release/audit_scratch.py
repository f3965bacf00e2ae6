"""The privacy audit on a scratch store of its own, never the department's records.

:func:`privacy.release.audit.audit_table` needs an empty internal store to write its two
neighbouring data sets to. Here it gets a temporary SQLite file, created from the internal
models and deleted afterwards, and a small geography: the key set's size does not change
what a table spends, only how long each draw takes. District ``d1`` has more beats than a
person's cell bound, so the cells the bounding keeps can all lie in one month and one
district, where every level sees them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from privacy.release.audit import AuditResult, audit_table
from privacy.release.periods import Quarter
from privacy.release.policy import Policy
from privacy.store.models import InternalBase
from publishing.db import make_engine

AREAS = {
    "district": ("d1", "d2"),
    "beat": ("d1b1", "d1b2", "d1b3", "d1b4", "d1b5", "d1b6", "d2b1", "d2b2"),
}
BEAT_DISTRICT = {beat: beat[:2] for beat in AREAS["beat"]}
QUARTER = Quarter(2024, 3)  # any quarter: the scratch records are dated in it


def audit_on_scratch(
    policy: Policy, table: str, trials: int, confidence: float = 0.95
) -> AuditResult:
    """Audit ``table`` of ``policy`` with ``trials`` outputs per side on a scratch store."""
    with tempfile.TemporaryDirectory(prefix="portal-audit-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'audit.sqlite3'}")
        try:
            InternalBase.metadata.create_all(engine)
            return audit_table(
                engine,
                policy,
                table,
                QUARTER,
                AREAS,
                BEAT_DISTRICT,
                trials,
                confidence=confidence,
            )
        finally:
            engine.dispose()
