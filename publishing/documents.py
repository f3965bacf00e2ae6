"""Configuration documents (mapping and policy files) read against declared schemas.

A schema is a msgspec ``Struct``: its fields are the keys a document may have, with their
types. Reading a document first refuses any key its schema does not declare, naming the
nearest known key and where it is, then lets msgspec check every value's type. What only
code can check (a code in the field's vocabulary, weights that add up, a time zone that
exists) stays with each document's parser, which then reads typed values, not raw TOML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import msgspec
from msgspec import inspect

from publishing.keys import unknown_keys

Schema = TypeVar("Schema", bound=msgspec.Struct)
Fail = Callable[[str], Exception]
Path = tuple[str | int, ...]

_TYPE_WORDS = {
    "str": "text",
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "array": "a list",
    "object": "a table",
    "null": "nothing",
    "date": "a date",
}
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def read_document(raw: object, schema: type[Schema], fail: Fail) -> Schema:
    """``raw`` (parsed TOML) as ``schema``; ``fail(message)`` for an unknown key or a value
    of the wrong type, the message saying where."""
    _refuse_unknown_keys(raw, inspect.type_info(schema), (), fail)
    try:
        return msgspec.convert(raw, schema, strict=True)
    except msgspec.ValidationError as error:
        raise fail(_in_words(str(error))) from None


def declared_keys(schema: type[msgspec.Struct]) -> tuple[str, ...]:
    """The keys a schema declares, in its order."""
    return tuple(f.encode_name for f in msgspec.structs.fields(schema))


def where(path: Path) -> str:
    """A place in a document as its TOML reads: ``top level``, ``[fields.beat]``,
    ``[tables 2]``."""
    if not path:
        return "top level"
    words: list[str] = []
    for step in path:
        if isinstance(step, int):
            words[-1] = f"{words[-1]} {step + 1}"
        else:
            words.append(step)
    return "[" + ".".join(words) + "]"


def _refuse_unknown_keys(raw: object, info: inspect.Type, path: Path, fail: Fail) -> None:
    for found in _structs(info):
        if not isinstance(raw, Mapping):
            return  # msgspec says what the value should be
        known = {f.encode_name: f.type for f in found.fields}
        unknown = set(map(str, raw)) - set(known)
        if unknown:
            place = where(path)
            raise fail(f"{place}{':' if not path else ''} {unknown_keys(unknown, known)}")
        for key, value in raw.items():
            _refuse_unknown_keys(value, known[str(key)], (*path, str(key)), fail)
        return
    if isinstance(info, inspect.ListType) and isinstance(raw, Sequence):
        for index, item in enumerate(raw):
            _refuse_unknown_keys(item, info.item_type, (*path, index), fail)
    elif isinstance(info, inspect.DictType) and isinstance(raw, Mapping):
        tables = _structs(info.value_type)
        for key, value in raw.items():
            _refuse_unknown_keys(value, info.value_type, (*path, str(key)), fail)
            if tables:  # msgspec names no key of a dict: check each table here, by its name
                try:
                    msgspec.convert(value, tables[0].cls, strict=True)
                except msgspec.ValidationError as error:
                    raise fail(_in_words(str(error), (*path, str(key)))) from None


def _structs(info: inspect.Type) -> list[inspect.StructType]:
    """The struct a value must be (a struct, or a struct or nothing)."""
    if isinstance(info, inspect.StructType):
        return [info]
    if isinstance(info, inspect.UnionType):
        return [t for t in info.types if isinstance(t, inspect.StructType)]
    return []


def _in_words(message: str, prefix: Path = ()) -> str:
    """msgspec's message ("Expected `int`, got `str` - at `$.budget.rho`") as a person
    reads it ("[budget] rho: expected a number, got text"), for a value at ``prefix``."""
    found = _AT.match(message)
    assert found is not None  # the pattern matches any text
    text, raw_path = found["message"], found["path"] or ""
    steps: list[str | int] = list(prefix)
    for step in re.findall(r"\[\d+\]|\[\.\.\.\]|[^.\[\]]+", raw_path):
        if step == "[...]":  # an entry of a table of values
            steps[-1] = f"{steps[-1]} (an entry)"
        else:
            steps.append(int(step[1:-1]) if step.startswith("[") else step)
    missing = re.match(r"Object missing required field `(?P<key>[^`]+)`", text)
    if missing:
        return f"{where(tuple(steps))}{':' if not steps else ''} '{missing['key']}' is required"
    expected = re.match(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`", text)
    if expected:
        want = " or ".join(
            _TYPE_WORDS.get(t.strip(), t.strip())
            for t in expected["want"].split("|")
            if t.strip() != "null"
        )
        text = f"expected {want}, got {_TYPE_WORDS.get(expected['got'], expected['got'])}"
    if re.match(r"Invalid RFC3339 encoded date", text):
        text = "not a date: write it as YYYY-MM-DD (2017-01-01)"
    key = steps.pop() if steps and isinstance(steps[-1], str) else None
    place = where(tuple(steps))
    return f"{place} {key}: {text}" if key else f"{place}: {text}"
