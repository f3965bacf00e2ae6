"""The department profile: what a department records, declared in public, never read off
its records.

A profile names the department, the sources it publishes (stops, incidents, force), for
each source the categorical fields it records and the codes that can occur in them, and
the days its data cover. The release engine takes every decision that depends on "what
this department records" from here: a table over a source or field that is not recorded is
not released and spends nothing; a cell whose code cannot occur is a structural zero,
published as "not recorded by this department", without noise; a quarter only partly
covered is labelled. Nothing here looks at a record, so none of it costs privacy.

A profile is a TOML document (``portal profile show`` prints one), kept in the public store
as numbered revisions; the latest is in force. Without any, every source, field and code is
taken as recorded, and no window is declared.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import Connection, Engine, insert, select

from publishing.keys import unknown_keys
from publishing.models import DepartmentProfileRevision
from publishing.vocabularies import FAMILIES, Vocabulary, VocabularyError, declared

SOURCES = ("stops", "incidents", "force")
AREA_LEVELS = ("district", "beat")
ALL_CODES = "all"


class ProfileError(ValueError):
    """A profile that cannot be used, with what to fix."""


Fail = Callable[[str], ProfileError]
Vocabularies = Mapping[str, Mapping[str, tuple[str, ...]]]  # source -> field -> codes


@dataclass(frozen=True)
class SourceProfile:
    """What a department records of one source: each recorded categorical field with the
    codes that can occur in it (``None``: any code of the field's vocabulary), and the days
    its data cover, if declared."""

    fields: Mapping[str, tuple[str, ...] | None]
    window: tuple[date, date] | None = None
    # The vocabulary each field with several declares, where it is not the default.
    vocabularies: Mapping[str, str] = field(default_factory=dict)
    # The area levels its records name ("district", "beat"); None: not declared, so all.
    areas: tuple[str, ...] | None = None

    def records_area(self, level: str) -> bool:
        """Whether the source's records say which ``level`` (district or beat) they are in."""
        return self.areas is None or level in self.areas

    def vocabulary(self, name: str) -> Vocabulary | None:
        """The vocabulary the field uses (None for a field with a single one)."""
        return declared(name, self.vocabularies.get(name))

    def records(self, name: str) -> bool:
        """Whether the field is recorded at all."""
        return name in self.fields

    def can_occur(self, name: str, code: str) -> bool:
        """Whether ``code`` can occur in the field (a field not recorded holds only
        ``unknown``)."""
        if name not in self.fields:
            return code == "unknown"
        codes = self.fields[name]
        if codes is None:
            vocabulary = self.vocabulary(name)
            return vocabulary is None or code in vocabulary.codes
        return code in codes


@dataclass(frozen=True)
class DepartmentProfile:
    """A department's declared profile; ``sources`` holds the sources it publishes."""

    name: str
    sources: Mapping[str, SourceProfile] = field(default_factory=dict)
    revision: int | None = None  # in the public store; None before it is written

    def declared(self, name: str, window: tuple[date, date]) -> DepartmentProfile:
        """This profile with the department's ``name`` and, for every source it publishes,
        the days its data cover (what a department states after its first ingest)."""
        sources = {s: replace(p, window=window) for s, p in self.sources.items()}
        return replace(self, name=name, sources=sources)

    def publishes(self, source: str) -> bool:
        """Whether the department publishes ``source`` at all."""
        return source in self.sources

    def coverage(self, source: str, start: date, end: date) -> tuple[date, date] | None:
        """The part of [``start``, ``end``) the source's declared window covers, as
        (first day, day after the last), or None when it covers none of it. Without a
        declared window, all of it."""
        declared = self.sources[source].window if source in self.sources else None
        if source not in self.sources:
            return None
        if declared is None:
            return start, end
        first, last = max(start, declared[0]), min(end, _day_after(declared[1]))
        return (first, last) if first < last else None

    def to_toml(self) -> str:
        """The profile as the TOML a person reviews and edits."""
        lines = [f"name = {json.dumps(self.name, ensure_ascii=False)}"]
        for source in SOURCES:
            if source not in self.sources:
                continue
            profile = self.sources[source]
            lines += ["", f"[{source}]"]
            if profile.areas is not None:
                lines.append(f"areas = {json.dumps(list(profile.areas))}")
            if profile.window is not None:
                lines.append(
                    f'window = ["{profile.window[0].isoformat()}", '
                    f'"{profile.window[1].isoformat()}"]'
                )
            if profile.vocabularies:
                lines.append(f"[{source}.vocabularies]")
                lines += [f'{k} = "{v}"' for k, v in sorted(profile.vocabularies.items())]
            lines.append(f"[{source}.fields]")
            for name in sorted(profile.fields):
                codes = profile.fields[name]
                shown = json.dumps(ALL_CODES) if codes is None else json.dumps(list(codes))
                lines.append(f"{name} = {shown}")
        return "\n".join(lines) + "\n"

    def as_json(self) -> dict[str, object]:
        """The profile as plain JSON (stored, and served by the site)."""
        return {
            "name": self.name,
            "sources": {
                source: {
                    "window": None
                    if p.window is None
                    else [p.window[0].isoformat(), p.window[1].isoformat()],
                    "fields": {k: (None if v is None else list(v)) for k, v in p.fields.items()},
                }
                | ({"vocabularies": dict(p.vocabularies)} if p.vocabularies else {})
                | ({"areas": list(p.areas)} if p.areas is not None else {})
                for source, p in self.sources.items()
            },
        }


def _day_after(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)


def parse_profile(
    text: str, *, vocabularies: Vocabularies | None = None, origin: str = "<profile>"
) -> DepartmentProfile:
    """Validate a profile's TOML; with ``vocabularies`` (source -> categorical field ->
    codes), fields and codes are checked against them."""

    def fail(message: str) -> ProfileError:
        return ProfileError(f"{origin}: {message}")

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise fail(f"not valid TOML: {error}") from None
    return profile_from_json(document, vocabularies=vocabularies, fail=fail)


def profile_from_json(
    document: Mapping[str, object],
    *,
    vocabularies: Vocabularies | None = None,
    fail: Fail = ProfileError,
    revision: int | None = None,
) -> DepartmentProfile:
    """A profile from its parsed form (TOML tables, or the stored JSON)."""
    error = fail

    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise error("'name' is required: the department's name as residents know it")
    raw_sources = document.get("sources", {k: v for k, v in document.items() if k != "name"})
    if not isinstance(raw_sources, Mapping):
        raise error("each source is a table: [stops], [incidents] or [force]")
    unknown = sorted(set(raw_sources) - set(SOURCES))
    if unknown:
        raise error(f"unknown sources {unknown}; a profile can declare: {', '.join(SOURCES)}")
    sources = {}
    for source, raw in raw_sources.items():
        if not isinstance(raw, Mapping):
            raise error(f"[{source}] must be a table with 'fields' (and an optional 'window')")
        sources[source] = _source(source, raw, vocabularies, error)
    return DepartmentProfile(name.strip(), sources, revision)


def _source(
    source: str, raw: Mapping[str, object], vocabularies: Vocabularies | None, fail: Fail
) -> SourceProfile:
    keys = ("fields", "window", "vocabularies", "areas")
    extra = sorted(set(raw) - set(keys))
    if extra:
        raise fail(f"[{source}] {unknown_keys(extra, keys)}")
    areas = raw.get("areas")
    if areas is not None and (not isinstance(areas, list) or not set(areas) <= set(AREA_LEVELS)):
        raise fail(
            f"[{source}] areas must list the area levels its records name: "
            + ", ".join(f'"{level}"' for level in AREA_LEVELS)
            + " (an empty list when they name none)"
        )
    window = _window(source, raw.get("window"), fail)
    chosen = _vocabularies(source, raw.get("vocabularies", {}), fail)
    raw_fields = raw.get("fields", {})
    if not isinstance(raw_fields, Mapping):
        raise fail(f'[{source}.fields] must be a table of field = [codes] or "all"')
    known = vocabularies.get(source) if vocabularies is not None else None
    fields: dict[str, tuple[str, ...] | None] = {}
    for name, codes in raw_fields.items():
        if known is not None and name not in known:
            raise fail(
                f"[{source}.fields] {name!r} is not a categorical field of {source}; they are: "
                + ", ".join(known)
            )
        if codes == ALL_CODES or codes is None:
            fields[name] = None
            continue
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes) or not codes:
            raise fail(
                f"[{source}.fields] {name} must be a list of the codes that can occur, or "
                f'"{ALL_CODES}"'
            )
        vocabulary = declared(name, chosen.get(name)) if name in FAMILIES else None
        allowed = vocabulary.codes if vocabulary else known[name] if known else None
        if allowed is not None:
            bad = [c for c in codes if c not in allowed]
            if bad:
                raise fail(
                    f"[{source}.fields] {name}: {bad} are not codes of {name}"
                    + (f" in the vocabulary {vocabulary.name}" if vocabulary else "")
                    + " (its codes: "
                    + ", ".join(allowed)
                    + ")"
                )
        fields[name] = tuple(dict.fromkeys(codes))
    found = None if areas is None else tuple(a for a in AREA_LEVELS if a in areas)
    return SourceProfile(fields, window, chosen, found)


def _vocabularies(source: str, raw: object, fail: Fail) -> dict[str, str]:
    """The ``[SOURCE.vocabularies]`` table: field = the shipped vocabulary it uses."""
    if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
        raise fail(f'[{source}.vocabularies] must be a table of field = "vocabulary name"')
    chosen = {}
    for name, vocabulary in raw.items():
        try:
            found = declared(str(name), str(vocabulary))
        except VocabularyError as error:
            raise fail(f"[{source}.vocabularies] {error}") from None
        # The default is not written down, so a profile has one way to say it.
        if found is not None and found is not FAMILIES[str(name)][0]:
            chosen[str(name)] = found.name
    return chosen


def _window(source: str, raw: object, fail: Fail) -> tuple[date, date] | None:
    if raw is None:
        return None
    message = (
        f"[{source}] window must be two dates, the first and the last day the data cover, "
        'such as ["2017-01-01", "2017-12-31"]'
    )
    if not isinstance(raw, list) or len(raw) != 2:
        raise fail(message)
    try:
        first, last = (d if isinstance(d, date) else date.fromisoformat(str(d)) for d in raw)
    except ValueError:
        raise fail(message) from None
    if isinstance(first, datetime) or isinstance(last, datetime) or last < first:
        raise fail(message)
    return first, last


def _latest(connection: Connection) -> tuple[int, str] | None:
    """The newest revision's number and content, if any."""
    row = connection.execute(
        select(DepartmentProfileRevision.revision, DepartmentProfileRevision.content)
        .order_by(DepartmentProfileRevision.revision.desc())
        .limit(1)
    ).first()
    return None if row is None else (int(row[0]), str(row[1]))


def read_profile(engine: Engine) -> DepartmentProfile | None:
    """The profile in force: the public store's latest revision, or None."""
    with engine.connect() as connection:
        latest = _latest(connection)
    if latest is None:
        return None
    return profile_from_json(json.loads(latest[1]), revision=latest[0])


def write_profile(engine: Engine, profile: DepartmentProfile, *, now: datetime) -> int:
    """Add ``profile`` as the public store's newest revision (unless it is the same as the
    one in force); return the revision in force."""
    content = json.dumps(profile.as_json(), sort_keys=True, ensure_ascii=False)
    with engine.begin() as connection:
        latest = _latest(connection)
        if latest is not None and latest[1] == content:
            return latest[0]
        revision = 0 if latest is None else latest[0]
        connection.execute(
            insert(DepartmentProfileRevision).values(
                revision=revision + 1, name=profile.name, content=content, created_at=now
            )
        )
    return revision + 1
