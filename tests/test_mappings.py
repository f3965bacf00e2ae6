"""Mapping files: every shipped one loads, and a bad one is refused with what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from privacy.ingest.mapping import MappingError, load_mapping, parse_mapping, shipped_mapping_names

SHIPPED = [
    "minneapolis-areas",
    "minneapolis-force",
    "minneapolis-incidents",
    "minneapolis-stops",
    "police-uk-stop-search",
    "police-uk-street",
    "sparse-stops",
    "stanford-opp",
    "synthetic-areas",
    "synthetic-focus-areas",
    "synthetic-force",
    "synthetic-incidents",
    "synthetic-stops",
]


def test_the_shipped_mappings_are_the_documented_ones() -> None:
    assert shipped_mapping_names() == SHIPPED
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in SHIPPED:
        assert f"`{name}`" in readme, f"the README should list the shipped mapping {name}"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_mapping_loads(name: str) -> None:
    mapping = load_mapping(name)
    assert mapping.name == name
    assert len(mapping.sha256) == 64


def test_a_mapping_file_can_be_named_by_path(tmp_path: Path) -> None:
    path = tmp_path / "dept.toml"
    path.write_text(
        'name = "dept"\nkind = "incidents"\nsource = "dept"\n'
        '[fields.source_id]\ncolumn = "id"\n[fields.occurred_at]\ncolumn = "when"\n'
    )

    mapping = load_mapping(str(path))

    assert (mapping.kind, mapping.required_columns) == ("incidents", ("id", "when"))


def minimal(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "name": "m",
        "kind": "stops",
        "source": "s",
        "fields": {"source_id": {"column": "id"}, "occurred_at": {"column": "t"}},
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (minimal(kind="arrests"), "'kind' must be one of stops, incidents, force"),
        (minimal(timezone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (minimal(encoding="klingon"), "unknown encoding 'klingon'"),
        (minimal(colour="red"), "top level: unknown keys ['colour']"),
        (minimal(fields={"occurred_at": {"column": "t"}}), "[fields.source_id] is required"),
        (
            minimal(
                fields={
                    "source_id": {"column": "id"},
                    "occurred_at": {"column": "t"},
                    "shoe_size": {"column": "x"},
                }
            ),
            "fields ['shoe_size'] are not in the canonical stops schema",
        ),
        (
            minimal(
                fields={
                    "source_id": {"column": "id"},
                    "occurred_at": {"column": "t"},
                    "subject_race": {"column": "r", "values": {"W": "caucasian"}},
                }
            ),
            "maps 'W' to 'caucasian', which is not one of: asian_pacific_islander",
        ),
        (
            minimal(
                fields={
                    "source_id": {"column": "id"},
                    "occurred_at": {"column": "t"},
                    "search_conducted": {"columns": ["a", "b"]},
                }
            ),
            "needs combine = one of any, most_severe",
        ),
        (
            minimal(
                fields={"source_id": {"column": "id", "value": "x"}, "occurred_at": {"column": "t"}}
            ),
            "needs exactly one of 'column', 'columns', 'value', 'parent_of' or 'from_line'",
        ),
    ],
    ids=[
        "kind",
        "timezone",
        "encoding",
        "top-level key",
        "required field",
        "stray field",
        "code outside vocabulary",
        "combine",
        "two sources",
    ],
)
def test_a_bad_mapping_says_what_to_fix(document: dict[str, Any], message: str) -> None:
    with pytest.raises(MappingError) as error:
        parse_mapping(document)
    assert message in str(error.value)


def test_an_unknown_mapping_name_lists_the_shipped_ones() -> None:
    with pytest.raises(
        MappingError,
        match="no mapping named 'minneapolis'; shipped mappings are: "
        "minneapolis-areas, minneapolis-force",
    ):
        load_mapping("minneapolis")


def test_a_misspelt_key_is_named_with_the_key_meant() -> None:
    document = minimal()
    document["fields"]["source_id"] = {"colum": "id"}
    with pytest.raises(MappingError) as error:
        parse_mapping(document)
    assert "[fields.source_id] unknown keys ['colum'] ('colum': did you mean 'column'?)" in str(
        error.value
    )
