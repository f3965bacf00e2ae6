"""The languages the site speaks: English, in which the code is written, and Spanish, from a
gettext catalogue (``publishing/locale/es/LC_MESSAGES/messages.po``).

The language is a context variable set once per request (:func:`speaking`), so the words,
numbers and dates that figures, pages and sentences produce deep in the code are in the
reader's language without passing it through every call. Messages are marked with
:func:`gettext` (``_``) where they are made, and with :func:`N_` where they are only named
(a table of labels) and translated when shown.
"""

from __future__ import annotations

import contextvars
import gettext as gettext_module
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Babel is imported where it is used: most commands never need it
    from babel.messages.catalog import Catalog as Messages

LANGUAGES = ("en", "es")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "es": "Español"}  # each in its own language
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_BABEL_LOCALES = {"en": "en_US", "es": "es"}

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT)


def language() -> str:
    """The language being spoken: ``en`` or ``es``."""
    return _language.get()


@contextmanager
def speaking(code: str) -> Iterator[None]:
    """Speak ``code`` (one of :data:`LANGUAGES`) inside the block."""
    if code not in LANGUAGES:
        raise ValueError(f"not a language of the site: {code!r}; use one of {LANGUAGES}")
    token = _language.set(code)
    try:
        yield
    finally:
        _language.reset(token)


@cache
def messages(code: str) -> Messages:
    """The gettext catalogue of a language (read once)."""
    from babel.messages.pofile import read_po

    with (LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


def gettext(message: str) -> str:
    """``message`` in the language being spoken (as written, where no translation exists:
    tests/test_i18n.py fails on every such message)."""
    code = _language.get()
    if code == DEFAULT:
        return message
    found = messages(code).get(message)
    return found.string if found is not None and found.string else message  # type: ignore[return-value]


_ = gettext


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for ``count``, in the language being spoken."""
    code = _language.get()
    if code != DEFAULT:
        found = messages(code).get(singular)
        if found is not None and isinstance(found.string, tuple) and all(found.string):
            return found.string[plural_index(code, count)]
    return singular if count == 1 else plural


@cache
def _plural_rule(code: str) -> Callable[[int], int]:
    return gettext_module.c2py(messages(code).plural_expr)


def plural_index(code: str, count: int) -> int:
    """Which plural form of ``code``'s catalogue ``count`` takes (its Plural-Forms rule)."""
    return _plural_rule(code)(count)


def N_(message: str) -> str:
    """Mark ``message`` for translation where it is only named; :func:`gettext` it when
    shown."""
    return message


# Each language's name in the language being spoken (a report "in English", "en inglés").
LANGUAGE_WORDS = {"en": N_("English"), "es": N_("Spanish")}


def number(value: float, digits: int = 0) -> str:
    """A number as the language writes it: ``1,234.5`` in English, ``1234,5`` in Spanish."""
    if not math.isfinite(value):
        return "—"  # no number to show (an undefined ratio): a dash in every language
    # Rounded as Python rounds the float itself (as "{:.1f}" does), not its decimal text.
    rounded = round(value, digits)
    if _language.get() == DEFAULT:
        return f"{rounded:,.{digits}f}"
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(rounded, format=pattern, locale=_BABEL_LOCALES[_language.get()])


def significant(value: float, digits: int = 3) -> str:
    """A number to ``digits`` significant digits (``5.67``, ``1``), with the language's
    decimal mark (``5,67``)."""
    if not math.isfinite(value):
        return "—"
    text = f"{value:.{digits}g}"
    return text.replace(".", ",") if _language.get() == "es" else text


def long_date(day: date) -> str:
    """A date in words: ``31 December 2025``, ``31 de diciembre de 2025``."""
    if _language.get() == DEFAULT:
        return f"{day.day} {day:%B %Y}"
    from babel.dates import format_date

    return format_date(day, format="long", locale=_BABEL_LOCALES[_language.get()])


def month_name(month: int) -> str:
    """A month's name in the language being spoken (``October``, ``octubre``)."""
    from babel import Locale

    names = Locale.parse(_BABEL_LOCALES[_language.get()]).months["format"]["wide"]
    return str(names[month])


def month_words(year_month: str, *, short: bool = False) -> str:
    """A month written ``YYYY-MM`` in words: ``July 2025``, ``julio de 2025`` (``short``:
    ``Jul 2025``, ``jul 2025``). Text that is not a month is returned as it is."""
    try:
        day = date.fromisoformat(year_month + "-01")
    except ValueError:
        return year_month
    if _language.get() == DEFAULT:
        return f"{day:%b %Y}" if short else f"{day:%B %Y}"
    from babel.dates import format_skeleton

    skeleton = "yMMM" if short else "yMMMM"
    return str(format_skeleton(skeleton, day, locale=_BABEL_LOCALES[_language.get()]))
