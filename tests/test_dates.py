"""Dates whose numbers run together (``1012014``) are read only when they cannot be read
two ways: strptime splits ``1012014`` under ``%m%d%Y`` as 10/1/2014, and an export without
leading zeros (1 January 2014) moved every January stop to October with no error."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from privacy.ingest import load_mapping
from privacy.ingest.convert import RowConverter, RowErrors
from tests.canonical import stop_row

ROOT = Path(__file__).resolve().parents[1]


def converter(tmp_path: Path, fmt: str) -> tuple[RowConverter, int]:
    text = (ROOT / "privacy" / "mappings" / "synthetic-stops.toml").read_text()
    text = text.replace('column = "occurred_at"', f'column = "occurred_at"\nformat = "{fmt}"', 1)
    path = tmp_path / "packed-dates.toml"
    path.write_text(text.replace('name = "synthetic-stops"', 'name = "packed-dates"'))
    read = RowConverter(load_mapping(path), list(stop_row(0)))
    return read, read.field_names.index("occurred_at")


def occurred(read: RowConverter, at: int, raw: str) -> object:
    return read.convert(list(stop_row(1, occurred_at=raw).values()))[at]


def test_packed_digits_without_leading_zeros_are_refused_with_the_fix(tmp_path: Path) -> None:
    read, at = converter(tmp_path, "%m%d%Y")

    assert occurred(read, at, "01012014") == datetime(2014, 1, 1)
    assert occurred(read, at, "10012014") == datetime(2014, 10, 1)
    with pytest.raises(RowErrors) as refused:
        occurred(read, at, "1012014")  # 1 January 2014, which strptime reads as 1 October
    message = str(refused.value)
    assert "run together under the format '%m%d%Y'" in message
    assert "export the dates with leading zeros" in message


@pytest.mark.parametrize(
    ("fmt", "raw", "expected"),
    [
        ("%m/%d/%Y %H:%M", "1/5/2014 9:05", datetime(2014, 1, 5, 9, 5)),  # separators: fine
        ("%m%d%Y %H:%M", "01052014 9:05", datetime(2014, 1, 5, 9, 5)),  # only the date packed
        ("%Y%m%d%H%M", "201401050905", datetime(2014, 1, 5, 9, 5)),
    ],
)
def test_dates_that_read_one_way_only_are_read(
    tmp_path: Path, fmt: str, raw: str, expected: datetime
) -> None:
    read, at = converter(tmp_path, fmt)
    assert occurred(read, at, raw) == expected
