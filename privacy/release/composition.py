"""How the charges of a release or a period add up (plain arithmetic, no OpenDP: the
ledger and ``portal budget`` use it without loading the mechanisms)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def parallel_sum(amounts: Sequence[float], sources: Sequence[str | None] | None) -> float:
    """The sum of ``amounts``, or, with ``sources``, the largest sum of one source's. An
    amount of no known source (a charge recorded before sources were) adds to every one."""
    if sources is None:
        return math.fsum(amounts)
    by_source: dict[str | None, list[float]] = {}
    for amount, source in zip(amounts, sources, strict=True):
        by_source.setdefault(source, []).append(amount)
    unknown = math.fsum(by_source.pop(None, []))
    return unknown + max((math.fsum(v) for v in by_source.values()), default=0.0)
