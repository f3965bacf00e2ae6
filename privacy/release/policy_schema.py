"""The policy file's declared schema: the keys each table of a policy may have, and their
types (read by :func:`publishing.documents.read_document`; the rules between values, such
as weights that add up, are checked by :mod:`privacy.release.policy`)."""

from __future__ import annotations

import msgspec


class LevelDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[tables.levels]]``: a coarser level of a table."""

    dimensions: list[str]
    weight: float
    name: str | None = None
    title: str | None = None


class TableDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[tables]]``: one published table."""

    name: str
    source: str
    dimensions: list[str]
    weight: float
    title: str | None = None
    where: dict[str, str | list[str]] = {}
    levels: list[LevelDocument] = []


class UnitDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[unit]``: whom the guarantee protects."""

    kind: str = "record"
    max_records_per_cell: int | None = None
    max_cells: int | None = None


class BudgetDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[budget]``: a period's budget, and a person unit's horizon."""

    mechanism: str = "gaussian"
    rho: float | None = None
    epsilon: float | None = None
    delta: float = 1e-7
    horizon: str | None = None
    horizon_rho: float | None = None
    horizon_epsilon: float | None = None
    share: float = 1.0


class PolicyDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A policy file."""

    name: str
    version: int = 1
    description: str = ""
    period: str = "quarter"
    unit: UnitDocument = msgspec.field(default_factory=UnitDocument)
    budget: BudgetDocument | None = None
    tables: list[TableDocument] = []
