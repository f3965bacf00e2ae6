"""What a value must be to be stored: text the stores can hold, area codes of the safe set.

Both conversion paths (:mod:`privacy.ingest.convert` row by row, :mod:`privacy.ingest.columns`
a column at a time) and the mapping loader ask these, so a value refused on one path is
refused on the other, and a mapping cannot bring in through its own values what a file
could not.
"""

from __future__ import annotations

import re
from typing import Final

from privacy.schema import REFERENCE_KINDS, CanonicalField, FieldType
from publishing.codes import AREA_CODE, AREA_CODE_RULE

# Neither store can hold a lone surrogate (it has no UTF-8 form), and PostgreSQL's text
# cannot hold NUL. Undecodable bytes (U+DC80..U+DCFF under surrogateescape) are reported by
# the reader already; other surrogates come from decoders such as UTF-7.
_SURROGATE = re.compile("[\ud800-\udfff]")

NUL_REASON: Final = (
    "the value holds a NUL character (\\x00), which the stores cannot hold; remove it from the file"
)
SURROGATE_REASON: Final = (
    "the value holds a lone surrogate code point, which is not valid Unicode text; "
    "check the mapping's encoding"
)


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character neither store can hold (NUL, a lone surrogate).

    Fast on long, clean text: ``in`` and ``isascii`` run at C speed; the pattern only runs
    on text that is not ASCII."""
    return "\x00" in text or (not text.isascii() and _SURROGATE.search(text) is not None)


def unstorable_reason(text: str) -> str:
    """Why ``text``, for which :func:`unstorable` holds, cannot be stored."""
    return NUL_REASON if "\x00" in text else SURROGATE_REASON


def holds_area_code(kind: str, target: CanonicalField) -> bool:
    """Whether a field holds area codes, which must follow
    :data:`publishing.codes.AREA_CODE`: the district and beat of a record, an area's parent,
    a focus area's beats, and the code of an area or a focus area."""
    if target.type in (FieldType.AREA, FieldType.CODES):
        return True
    return kind in REFERENCE_KINDS and target.name == "code"


def area_code_reason(code: str) -> str | None:
    """Why ``code`` is not an area code, or None when it is one."""
    if AREA_CODE.match(code):
        return None
    return (
        f"not a valid area code: {AREA_CODE_RULE}; fix it in the file, map it in the "
        'mapping\'s values (to "unknown", for instance) or read the column with '
        'transform = "slug"'
    )
