"""Keep the Spanish catalogue in step with the code: find every message the site, the
charts and the sentences mark for translation, and list those the catalogue lacks.

    .venv/bin/python -m publishing.i18n_catalogue          # add new messages, untranslated
    .venv/bin/python -m publishing.i18n_catalogue --check  # exit 1 if any lacks Spanish

tests/test_i18n.py fails while a marked message has no Spanish translation.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from babel.messages.catalog import Catalog as Messages
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from publishing.i18n import LANGUAGES, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("portal", "publishing", "privacy/policies")
METHODS = [
    ("**/locale/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/report_templates/**.html", "jinja2.ext:babel_extract"),
    ("**.toml", "publishing.i18n_catalogue:policy_titles"),
]
_JINJA = {
    "extensions": "jinja2.ext.i18n",
    "trim_blocks": "true",
    "lstrip_blocks": "true",
    "newstyle_gettext": "true",
}
OPTIONS = {"**/templates/**.html": _JINJA, "**/report_templates/**.html": _JINJA}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def policy_titles(
    fileobj: BinaryIO, keywords: object, comment_tags: object, options: object
) -> Iterator[tuple[int, str, str, list[str]]]:
    """A Babel extractor for a shipped policy: its tables' titles, which the site shows
    (a policy of a department's own keeps its titles as written)."""
    policy = tomllib.load(fileobj)
    for table in policy.get("tables", []):
        for entry in (table, *table.get("levels", [])):
            if entry.get("title"):
                yield 0, "_", entry["title"], []


def marked_messages() -> Iterator[tuple[str | tuple[str, ...], str]]:
    """Every message marked for translation in the code and the templates, with where it
    is (``portal/web/templates/home.html:12``)."""
    for source in SOURCES:
        for filename, line, message, _comments, _context in extract_from_dir(
            ROOT / source, METHODS, OPTIONS, KEYWORDS, strip_comment_tags=True
        ):
            yield message, f"{source}/{filename}:{line}"
    from publishing.opendata import described_messages  # the site's code, read only here

    for message in dict.fromkeys(described_messages()):
        yield message, "publishing/opendata.py:0"


def catalogue_path(code: str) -> Path:
    """Where a language's catalogue lies."""
    return LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"


def untranslated(code: str) -> list[tuple[str, str]]:
    """The marked messages ``code``'s catalogue has no translation for, with where each is."""
    with catalogue_path(code).open("rb") as handle:
        catalogue = read_po(handle, locale=code)
    missing = []
    for message, where in marked_messages():
        msgid = message[0] if isinstance(message, tuple) else message
        found = catalogue.get(msgid)
        strings = found.string if found is not None else ""
        if not (all(strings) if isinstance(strings, tuple) else strings):
            missing.append((msgid, where))
    return missing


def update(code: str) -> int:
    """Add the marked messages ``code``'s catalogue lacks (untranslated) and drop those the
    code no longer marks; return how many were added."""
    path = catalogue_path(code)
    if path.exists():
        with path.open("rb") as handle:
            catalogue = read_po(handle, locale=code)
    else:
        catalogue = Messages(locale=code, project="transparency-portal")
    added = 0
    marked = set()
    for message, where in marked_messages():
        msgid = message[0] if isinstance(message, tuple) else message
        marked.add(msgid)
        if msgid not in catalogue:
            filename, _colon, line = where.rpartition(":")
            catalogue.add(message, locations=[(filename, int(line))])
            added += 1
    for gone in [
        m.id
        for m in catalogue
        if m.id and (m.id[0] if isinstance(m.id, tuple) else m.id) not in marked
    ]:
        catalogue.delete(gone[0] if isinstance(gone, tuple) else gone)  # no longer in the code
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalogue, width=100, omit_header=False, no_location=True)
    return added


def main() -> int:
    """Add new messages to each catalogue, or with ``--check`` report those untranslated."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report, change nothing")
    args = parser.parse_args()
    status = 0
    for code in LANGUAGES[1:]:
        if not args.check:
            print(f"{code}: {update(code)} new messages")
        for msgid, where in untranslated(code):
            print(f"{code}: no translation for {msgid!r} ({where})")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
