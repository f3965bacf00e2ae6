"""Mapping and policy files are read against declared schemas: a key the schema does not
declare is refused with the nearest one and where it is, a value of the wrong type says
what was expected, and the README documents every key a mapping rule may have."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import pytest

from privacy.ingest.mapping import MappingError, parse_mapping
from privacy.ingest.mapping_schema import FieldDocument
from privacy.release.policy import PolicyError, parse_policy
from publishing.documents import declared_keys

ROOT = Path(__file__).resolve().parents[1]
POLICY = """name = "p"
[budget]
rho = 0.5
[[tables]]
name = "stops_by_month"
source = "stops"
dimensions = ["month"]
weight = 1.0
[[tables.levels]]
dimensions = ["quarter"]
weight = 0.2
"""
MAPPING = """name = "m"
kind = "stops"
source = "s"
[fields.source_id]
column = "id"
[fields.occurred_at]
column = "t"
[fields.beat]
column = "b"
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("weight = 1.0", 'weight = "a lot"'), "[tables 1] weight: expected a number, got text"),
        (
            ("weight = 0.2", "wieght = 0.2"),
            "[tables 1.levels 1] unknown keys ['wieght'] ('wieght': did you mean 'weight'?)",
        ),
        (('dimensions = ["month"]', 'dimensions = "month"'), "dimensions: expected a list"),
        (("rho = 0.5", "rho = 0.5\nhorizon = 3"), "[budget] horizon: expected text, got a whole"),
        (('name = "p"\n', ""), "top level: 'name' is required"),
    ],
)
def test_a_policy_file_is_read_against_its_schema(change: tuple[str, str], message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(POLICY.replace(*change, 1))
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('column = "b"', "column = 5"), "[fields.beat] column: expected text, got a whole number"),
        (('column = "b"', 'colunm = "b"'), "('colunm': did you mean 'column'?)"),
        (
            (
                'source = "s"',
                'source = "s"\n[[variants]]\nname = "v"\nwhen_header_has = ["x"]\n'
                '[variants.fields.beat]\ncolumm = "x"',
            ),
            "[variants 1.fields.beat] unknown keys ['columm']",
        ),
        (('source = "s"', 'source = "s"\nnull_values = "NA"'), "null_values: expected a list"),
        (('kind = "stops"\n', ""), "top level: 'kind' is required"),
    ],
)
def test_a_mapping_file_is_read_against_its_schema(change: tuple[str, str], message: str) -> None:
    with pytest.raises(MappingError) as error:
        parse_mapping(tomllib.loads(MAPPING.replace(*change, 1)))
    assert message in str(error.value)


def test_the_readme_documents_every_key_of_a_field_rule() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Mapping files") : readme.index("## Privacy policies")]
    shown = ("{} =", ".{}]", "`{}`")  # a key, a table of its own, or named in the text
    missing = [
        key
        for key in declared_keys(FieldDocument)
        if not any(form.format(key) in section for form in shown)
    ]
    assert not missing, f"the README's mapping section does not show {missing}"


def test_a_schema_declares_its_defaults() -> None:
    rule = msgspec.convert({"column": "x"}, FieldDocument)
    assert (rule.format, rule.values, rule.from_line) == ("iso", {}, None)
