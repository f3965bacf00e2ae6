"""Stream a delimited text file row by row, reporting rows that cannot be read as data.

The file is read once, in constant memory. Bytes that are not valid in the declared
encoding, rows with the wrong number of fields and absurdly long fields are reported with
their line number instead of stopping the read, so one pass finds every problem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from privacy.ingest.report import file_label

# The csv module's own limit is a hard stop; ours (the mapping's max_field_length) is a
# reported problem. Fields between the two are read, then reported.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
# Undecodable bytes become lone surrogates under "surrogateescape"; finding one means the
# file is not in the declared encoding.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_LINE_BREAK = re.compile("\r\n|\r|\n")


class FileProblem(ValueError):
    """The file as a whole cannot be read (missing, empty, no header)."""


@dataclass(frozen=True)
class RowProblem:
    """A row that cannot be read as data: where it is and why."""

    line: int
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """Consecutive data rows that passed the file-level checks, their starting lines, and
    the rows between them that did not."""

    lines: list[int]
    rows: list[list[str]]
    problems: list[RowProblem]


class _CountingReader(io.RawIOBase):
    """A raw stream that counts and hashes the bytes read through it (progress, batch id)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.bytes_read = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._raw.read(len(buffer))
        n = len(chunk)
        buffer[:n] = chunk
        self.bytes_read += n
        self.digest.update(chunk)
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class CsvSource:
    """A delimited file opened for streaming. Use as a context manager."""

    def __init__(
        self,
        path: Path,
        *,
        encoding: str = "utf-8",
        delimiter: str = ",",
        max_field_length: int = 10_000,
    ) -> None:
        try:
            raw = path.open("rb")
        except OSError as error:
            raise FileProblem(f"cannot open {file_label(path)}: {error.strerror}") from None
        self.path = path
        self.name = file_label(path)
        self.encoding = encoding
        self.size = path.stat().st_size
        self.max_field_length = max_field_length
        # A UTF-8 byte order mark is accepted and dropped: spreadsheets write one.
        codec = "utf-8-sig" if encoding.replace("_", "-").lower() in ("utf-8", "utf8") else encoding
        self._counter = _CountingReader(raw)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter, 1 << 20),
            encoding=codec,
            errors="surrogateescape",
            newline="",
        )
        # The limit is the process's, and other libraries set it when imported (frictionless
        # lifts it to gigabytes): set ours when a file is opened, not when this is imported.
        csv.field_size_limit(CSV_FIELD_LIMIT)
        self._reader = csv.reader(self._text, delimiter=delimiter, strict=False)
        try:
            self.header = self._read_header()
        except BaseException:
            self._text.close()  # the caller never gets the source to close
            raise

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._text.close()

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes read so far: of the whole file once the rows are exhausted."""
        return self._counter.digest.hexdigest()

    @property
    def bytes_read(self) -> int:
        """Bytes consumed so far (read ahead in 1 MiB blocks)."""
        return self._counter.bytes_read

    def _read_header(self) -> list[str]:
        try:
            header = next(self._reader)
        except StopIteration:
            raise FileProblem(f"{self.name} is empty: expected a header row") from None
        except csv.Error as error:
            raise FileProblem(f"{self.name}: the header row cannot be read ({error})") from None
        except UnicodeDecodeError as error:
            raise self._undecodable(error) from None
        if _UNDECODABLE.search("".join(header)):
            raise FileProblem(
                f"{self.name}: the header is not valid text in the mapping's "
                "encoding; set 'encoding' in the mapping (for example 'cp1252')"
            )
        if not any(h.strip() for h in header):
            raise FileProblem(f"{self.name}: the first row is blank; expected a header row")
        return header

    def chunks(self, size: int) -> Iterator[Chunk]:
        """Yield the data rows in chunks of up to ``size``, each with the rows that could
        not be read as data (wrong width, over-long field, bytes invalid in the encoding).

        The checks run over the whole chunk at C speed; only a chunk that fails one is
        looked at row by row.
        """
        # Delegated, so that no frame here keeps a chunk's rows alive once it is handed on:
        # its values are then referenced once, and marshal tracks only an object referenced
        # twice (privacy.ingest.pipeline sends chunks by marshal).
        yield from iter(partial(self._next_chunk, size), None)

    def _next_chunk(self, size: int) -> Chunk | None:
        """The next chunk of up to ``size`` rows, or None at the end of the file."""
        reader = self._reader
        start = reader.line_num
        try:
            rows = list(islice(reader, size))
        except csv.Error as error:
            # Only a field past the csv module's 16 MiB limit gets here (with strict=False
            # it reads anything else): the file is refused whole.
            raise FileProblem(
                f"{self.name}, line {reader.line_num}: not readable as CSV ({error})"
            ) from None
        except UnicodeDecodeError as error:
            raise self._undecodable(error) from None
        if not rows:
            return None
        lines = _start_lines(start, rows, reader.line_num)
        if [] in rows:  # blank lines carry no record
            kept = [(n, r) for n, r in zip(lines, rows, strict=True) if r]
            lines, rows = [n for n, _ in kept], [r for _, r in kept]
        return self._vet(lines, rows)

    def _undecodable(self, error: UnicodeDecodeError) -> FileProblem:
        # Bytes "surrogateescape" cannot stand in for (below 0x80, as in a lone UTF-16
        # surrogate) stop the decoder itself: the file is refused whole.
        return FileProblem(
            f"{self.name}: bytes that are not valid {self.encoding} ({error.reason}) within "
            f"its first {self._counter.bytes_read:,} bytes; check 'encoding' in the mapping"
        )

    def _vet(self, lines: list[int], rows: list[list[str]]) -> Chunk:
        problems: list[RowProblem] = []
        width = len(self.header)
        if rows and set(map(len, rows)) == {width}:
            joined = list(map("".join, rows))
            # isascii() rules out undecodable bytes for a whole chunk at once.
            if max(map(len, joined)) <= self.max_field_length and "".join(joined).isascii():
                return Chunk(lines, rows, problems)
        good_lines, good_rows = [], []
        for line, row in zip(lines, rows, strict=True):
            problem = self._row_problem(line, row, width)
            if problem is None:
                good_lines.append(line)
                good_rows.append(row)
            else:
                problems.append(problem)
        return Chunk(good_lines, good_rows, problems)

    def _row_problem(self, line: int, row: list[str], width: int) -> RowProblem | None:
        if len(row) != width:
            return RowProblem(
                line,
                "",
                _excerpt(",".join(row)),
                f"the row has {len(row)} fields but the header has {width}",
            )
        joined = "".join(row)
        if len(joined) > self.max_field_length or not joined.isascii():
            return self._field_problem(line, row)
        return None

    def _field_problem(self, line: int, row: list[str]) -> RowProblem | None:
        for name, value in zip(self.header, row, strict=True):
            if len(value) > self.max_field_length:
                return RowProblem(
                    line,
                    name,
                    _excerpt(value),
                    f"the field is {len(value):,} characters long; the mapping "
                    f"allows {self.max_field_length:,} (max_field_length)",
                )
            if _UNDECODABLE.search(value):
                return RowProblem(
                    line,
                    name,
                    _excerpt(value),
                    "bytes that are not valid in the mapping's encoding; "
                    "set 'encoding' in the mapping (for example 'cp1252')",
                )
        return None  # long in total, but every field is within the limit


def _start_lines(before: int, rows: list[list[str]], after: int) -> list[int]:
    """The line each row starts on. Rows are one line each unless a quoted field holds a
    line break; then each row spans one line more per break inside it."""
    if after - before == len(rows):
        return list(range(before + 1, after + 1))
    lines, line = [], before + 1
    for row in rows:
        lines.append(line)
        line += 1 + sum(
            len(_LINE_BREAK.findall(field)) for field in row if "\n" in field or "\r" in field
        )
    return lines


def _excerpt(value: str, limit: int = 60) -> str:
    """A short, printable excerpt of a bad value for messages."""
    text = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= limit else text[:limit] + "…"
