"""What an ingest found: counts, problems, and the words a person reads about them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# How many problems are spelled out in a message; the rest are counted.
PROBLEMS_SHOWN = 20
# How many rejected rows a batch's stored report lists one by one.
REJECTED_RECORDED = 10_000


def file_label(path: Path) -> str:
    """A file's name as text both stores can hold and a terminal can show: bytes of a name
    that are not UTF-8 (which Python keeps as lone surrogates) become ``\\xNN``."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Problem:
    """Why one row (line of the file) was refused."""

    line: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column!r}" if self.column else "")
        value = f", value {self.value!r}" if self.column or self.value else ""
        return f"{where}{value}: {self.reason}"


@dataclass
class IngestReport:
    """The outcome of one ingest (or dry run) of one file."""

    kind: str
    mapping: str
    file_name: str
    dry_run: bool
    skip_invalid: bool
    rows_read: int = 0
    rows_rejected: int = 0
    rows_added: int = 0
    rows_already_present: int = 0
    rows_updated: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    category_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    committed: bool = False
    file_sha256: str = ""
    batch_id: int | None = None

    @property
    def rows_accepted(self) -> int:
        """Rows that passed validation."""
        return self.rows_read - self.rows_rejected

    def add_problem(self, problem: Problem) -> None:
        """Count a rejected row's problem; keep it in detail while there is room."""
        self.problem_count += 1
        if len(self.problems) < REJECTED_RECORDED:
            self.problems.append(problem)

    def sorted_problems(self) -> list[Problem]:
        """The recorded problems in file order (chunks find them in two passes)."""
        return sorted(self.problems, key=lambda p: p.line)

    def problem_lines(self) -> list[str]:
        """The first problems, then a count of the rest, as a person reads them."""
        lines = [str(p) for p in self.sorted_problems()[:PROBLEMS_SHOWN]]
        rest = self.problem_count - len(lines)
        if rest > 0:
            lines.append(f"... and {rest:,} more problem(s)")
        return lines

    def to_json(self) -> str:
        """The report as stored with the batch (internal store only)."""
        payload: dict[str, Any] = {
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "rows_added": self.rows_added,
            "rows_already_present": self.rows_already_present,
            "rows_updated": self.rows_updated,
            "problem_count": self.problem_count,
            "rejected": [p.__dict__ for p in self.sorted_problems()],
            "category_counts": self.category_counts,
            "notes": self.notes,
        }
        return json.dumps(payload, sort_keys=True)

    def summary(self) -> str:
        """One paragraph on what happened."""
        if self.dry_run:
            head = (
                f"Dry run of {self.file_name} with mapping {self.mapping!r}: "
                f"{self.rows_read:,} rows read, {self.rows_accepted:,} would be accepted, "
                f"{self.rows_rejected:,} rejected; {self.rows_added:,} would be new, "
                f"{self.rows_already_present:,} are already present. Nothing was written."
            )
        elif self.committed:
            head = (
                f"Ingested {self.file_name} as batch {self.batch_id}: {self.rows_read:,} rows "
                f"read, {self.rows_added:,} added"
            )
            if self.rows_already_present:
                head += (
                    f", {self.rows_already_present:,} already present (same ids as earlier "
                    "batches; left as they were)"
                )
            if self.rows_updated:
                head += f", {self.rows_updated:,} updated"
            if self.rows_rejected:
                head += (
                    f", {self.rows_rejected:,} rejected and recorded in the batch's report "
                    "(--skip-invalid)"
                )
            head += "."
        else:
            head = (
                f"Refused {self.file_name}: {self.rows_rejected:,} of {self.rows_read:,} rows "
                "are invalid, so nothing was written. Fix the file or the mapping, or pass "
                "--skip-invalid to load the valid rows and record the rejected ones."
            )
        return head


class IngestRefused(Exception):
    """An ingest that wrote nothing, with the report that says why."""

    def __init__(self, message: str, report: IngestReport | None = None) -> None:
        super().__init__(message)
        self.report = report
