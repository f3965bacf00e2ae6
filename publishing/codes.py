"""The one rule for area codes: what ingest accepts and what the site takes in a URL.

An area code (a district, a beat, a focus area) travels everywhere: into URLs, file names,
open-data CSV cells, chart labels. Restricting it at the door to letters, digits and a few
punctuation marks, starting with a letter or a digit, means none of those places has to
worry about quotes, slashes, spaces, control characters or a leading ``=``, ``+``, ``-``
or ``@`` that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import re
from typing import Final

AREA_CODE_PATTERN: Final = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
"""An ASCII letter or digit, then up to 63 letters, digits, ``_``, ``.`` or ``-``."""

AREA_CODE: Final = re.compile(rf"^{AREA_CODE_PATTERN}\Z")
"""The compiled rule (``\\Z``, not ``$``: a trailing line break is not allowed)."""

AREA_CODE_RULE: Final = (
    "an area code is 1 to 64 characters: an ASCII letter or digit, then letters, digits, "
    f"'_', '.' or '-' (the pattern {AREA_CODE_PATTERN})"
)
"""The rule in words, for messages."""


def is_area_code(text: str) -> bool:
    """Whether ``text`` is a well-formed area code."""
    return AREA_CODE.match(text) is not None
