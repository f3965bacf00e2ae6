"""Unknown keys in a configuration file (a mapping, a policy, a department profile), named
with the nearest key that is allowed: a typo says what was meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def unknown_keys(unknown: Iterable[str], allowed: Iterable[str]) -> str:
    """``unknown keys ['colum'] (did you mean 'column'?); allowed: column, columns, ...``."""
    known = sorted(allowed)
    found = sorted(unknown)
    hints = [
        f" ({k!r}: did you mean {close[0]!r}?)"
        for k in found
        if (close := difflib.get_close_matches(k, known, n=1))
    ]
    return f"unknown keys {found}{''.join(hints)}; allowed: {', '.join(known)}"
