"""The department profile as the internal side fills it in: from the mappings used for
ingest (configuration is public; the records it reads are not), checked against the
canonical vocabularies.

A mapping says which categorical fields a source records (read from a column, or a constant
other than ``unknown``) and which codes can occur in each (the codes its value tables and
fallback name; every code of the vocabulary for a column read without a value table).
Ingesting a file through a mapping adds that to the profile in force, so a first release
needs no extra step; the profile can then be reviewed and edited (``portal profile``).
"""

from __future__ import annotations

from collections.abc import Mapping as MappingType

from sqlalchemy import Engine, select

from privacy.ingest.mapping import Mapping
from privacy.schema import FieldType, fields_of
from privacy.store.models import RECORD_TABLES, InternalBase
from publishing.profile import (
    AREA_LEVELS,
    SOURCES,
    DepartmentProfile,
    ProfileError,
    SourceProfile,
    Vocabularies,
)
from publishing.vocabularies import FAMILIES

RECORD_KINDS = ("stops", "incidents", "force")


def vocabularies() -> Vocabularies:
    """Each source's categorical fields and their codes."""
    return {
        source: {f.name: f.vocabulary for f in fields_of(source) if f.type is FieldType.CATEGORY}
        for source in SOURCES
    }


def recorded_by(mapping: Mapping) -> SourceProfile:
    """What a records mapping says its source records: fields and the codes they can hold."""
    if mapping.kind not in RECORD_KINDS:
        raise ValueError(f"a {mapping.kind} mapping declares no records")
    fields: dict[str, tuple[str, ...] | None] = {}
    chosen: dict[str, str] = {}
    for rule in mapping.rules:
        target = rule.target
        if target.type is not FieldType.CATEGORY:
            continue
        if target.declared is not None and (rule.columns or rule.constant is not None):
            chosen[target.name] = target.declared
        if rule.constant is not None:
            if rule.constant != "unknown":
                fields[target.name] = (rule.constant,)
            continue
        if not rule.columns:
            continue  # left out: always unknown, so not recorded
        if (not rule.values and not rule.column_values) or rule.numeric is not None:
            # Canonical codes read as they are, or bands computed from a number: any may occur.
            fields[target.name] = None
            continue
        named = [
            *rule.values.values(),
            *(code for table in rule.column_values.values() for code in table.values()),
            *([rule.fallback] if rule.fallback else []),
        ]
        fields[target.name] = tuple(c for c in target.vocabulary if c in set(named))
    places = tuple(
        rule.target.name
        for rule in mapping.rules
        if rule.target.name in AREA_LEVELS
        and (rule.columns or rule.parent_of or rule.constant not in (None, "unknown"))
    )
    return SourceProfile(fields, vocabularies=_non_default(chosen), areas=places)


def _non_default(chosen: dict[str, str]) -> dict[str, str]:
    return {k: name for k, name in chosen.items() if FAMILIES[k][0].name != name}


def with_mapping(
    profile: DepartmentProfile | None, mapping: Mapping, default_name: str
) -> DepartmentProfile:
    """``profile`` (or a new one named ``default_name``) with what ``mapping`` records added
    to its source: fields joined, codes joined, the declared window kept."""
    base = profile or DepartmentProfile(default_name, {})
    source = mapping.kind
    added = recorded_by(mapping)
    current = base.sources.get(source)
    fields = dict(current.fields) if current else {}
    chosen = dict(current.vocabularies) if current else {}
    for name in added.fields:
        before = current.vocabulary(name) if current and name in current.fields else None
        after = added.vocabulary(name)
        if before is not None and after is not None and before != after:
            raise ProfileError(
                f"the mapping {mapping.name} reads {name} in the vocabulary {after.name}, but "
                f"the department profile says its {source} use {before.name}, and the "
                f"records already stored are coded so; one field keeps one vocabulary. Map "
                f"the export's codes to {before.name} (its values table), or load the "
                f"department afresh in {after.name}"
            )
        if after is not None and after is not FAMILIES[name][0]:
            chosen[name] = after.name
    order = vocabularies()[source]
    for name, codes in added.fields.items():
        joined = _joined(fields[name], codes) if name in fields else codes
        vocabulary = added.vocabulary(name)
        codes_in_order = vocabulary.codes if vocabulary else order[name]
        # In the vocabulary's order, whichever mapping named a code first.
        fields[name] = None if joined is None else tuple(c for c in codes_in_order if c in joined)
    window = current.window if current else None
    areas = added.areas
    if current is not None:  # a profile written before areas were declared says all
        areas = None if current.areas is None or areas is None else (*current.areas, *areas)
    named = None if areas is None else tuple(a for a in AREA_LEVELS if a in areas)
    sources = {**base.sources, source: SourceProfile(fields, window, chosen, named)}
    return DepartmentProfile(base.name, _ordered(sources), base.revision)


def _joined(old: tuple[str, ...] | None, new: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if old is None or new is None:
        return None
    return tuple(dict.fromkeys((*old, *new)))


def _ordered(sources: MappingType[str, SourceProfile]) -> dict[str, SourceProfile]:
    return {s: sources[s] for s in SOURCES if s in sources}


def vocabulary_switch(
    current: DepartmentProfile | None, new: DepartmentProfile, internal: Engine
) -> str | None:
    """Why ``new`` may not replace ``current``: it codes a field of a source in another
    vocabulary than the records already stored (they would read as ``unknown`` and vanish
    into structural zeros); None when it may. Looks only at whether such records exist."""
    for source, declared in new.sources.items():
        before = current.sources.get(source) if current is not None else None
        for name in FAMILIES:
            if not any(f.name == name for f in fields_of(source)):
                continue
            old = before.vocabulary(name) if before is not None else FAMILIES[name][0]
            changed = declared.vocabulary(name)
            if old == changed or not _holds_records(internal, source):
                continue
            assert old is not None and changed is not None  # both fields have vocabularies
            return (
                f"the {source} already stored are coded in {old.name} for {name}; a profile "
                f"that reads them as {changed.name} would count them as unknown. One field "
                f'keeps one vocabulary: declare {name} = "{old.name}" under '
                f"[{source}.vocabularies], or load the department afresh in {changed.name}"
            )
    return None


def _holds_records(internal: Engine, source: str) -> bool:
    table = InternalBase.metadata.tables[RECORD_TABLES[source]]
    with internal.connect() as connection:
        return connection.execute(select(table.c.source_id).limit(1)).first() is not None
