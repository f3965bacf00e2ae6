"""What an ingest found: counts, problems, and the words a person reads about them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

# How many problems are spelled out in a message; the rest are counted.
PROBLEMS_SHOWN = 20
# How many rejected rows a batch's stored report lists one by one.
REJECTED_RECORDED = 10_000
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A month below this share of the mean of the two months beside it is worth a warning (a
# date format that swaps day and month moves whole months), once those hold enough records.
LOW_MONTH_SHARE = 0.5
LOW_MONTH_MINIMUM = 50


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
    rows_repeated: int = 0  # later rows of an id, left out as the mapping says
    rows_added: int = 0
    rows_already_present: int = 0
    rows_updated: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    category_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Accepted records per hour of the file: "YYYY-MM-DD HH" -> count (internal only).
    hour_counts: dict[str, int] = field(default_factory=dict)
    # What the file's dates say: "month", "day" or "time" (see mapping.date_detail); counts
    # per weekday mean nothing for months alone, nor per hour for days alone.
    date_detail: str = "time"
    notes: list[str] = field(default_factory=list)
    committed: bool = False
    file_sha256: str = ""
    batch_id: int | None = None

    @property
    def rows_accepted(self) -> int:
        """Rows that passed validation."""
        return self.rows_read - self.rows_rejected - self.rows_repeated

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

    def by_month(self) -> dict[str, int]:
        """Accepted records per month ("2014-01"), in order."""
        return _summed(self.hour_counts, lambda key: key[:7])

    def by_weekday(self) -> dict[str, int]:
        """Accepted records per weekday, Monday first."""
        days = _summed(
            self.hour_counts, lambda key: WEEKDAYS[date.fromisoformat(key[:10]).weekday()]
        )
        return {day: days.get(day, 0) for day in WEEKDAYS}

    def by_hour(self) -> dict[str, int]:
        """Accepted records per hour of the day ("00" to "23")."""
        hours = _summed(self.hour_counts, lambda key: key[11:13])
        return {f"{h:02d}": hours.get(f"{h:02d}", 0) for h in range(24)}

    def date_warnings(self, window: tuple[date, date] | None = None) -> list[str]:
        """Warnings a person should look at: a month far below the months beside it (a
        date format read the wrong way moves records between months), and records outside
        the source's declared window."""
        warnings = []
        months = self.by_month()
        names = list(months)
        for before, month, after in zip(names, names[1:], names[2:], strict=False):
            around = (months[before] + months[after]) / 2
            if around >= LOW_MONTH_MINIMUM and months[month] < LOW_MONTH_SHARE * around:
                warnings.append(
                    f"{month} has {months[month]:,} records against {months[before]:,} and "
                    f"{months[after]:,} in the months beside it; if that is not real, check "
                    "the mapping's date format"
                )
        if window is not None:
            first, last = window
            outside = sum(
                n
                for key, n in self.hour_counts.items()
                if not first <= date.fromisoformat(key[:10]) <= last
            )
            if outside:
                warnings.append(
                    f"{outside:,} records fall outside the {self.kind} window the department "
                    f"profile declares ({first} to {last}): check the dates, or the window "
                    "with `portal profile show`"
                )
        return warnings

    def to_json(self) -> str:
        """The report as stored with the batch (internal store only)."""
        payload: dict[str, Any] = {
            "rows_read": self.rows_read,
            "rows_rejected": self.rows_rejected,
            "rows_repeated": self.rows_repeated,
            "rows_added": self.rows_added,
            "rows_already_present": self.rows_already_present,
            "rows_updated": self.rows_updated,
            "problem_count": self.problem_count,
            "rejected": [p.__dict__ for p in self.sorted_problems()],
            "category_counts": self.category_counts,
            "records_per_month": self.by_month(),
            "notes": self.notes,
        }
        return json.dumps(payload, sort_keys=True)

    def summary(self) -> str:
        """One paragraph on what happened."""
        if self.dry_run:
            head = (
                f"Dry run of {self.file_name} with mapping {self.mapping!r}: "
                f"{self.rows_read:,} rows read, {self.rows_accepted:,} would be accepted, "
                f"{self.rows_rejected:,} rejected"
                + (f", {self.rows_repeated:,} repeating an id" if self.rows_repeated else "")
                + f"; {self.rows_added:,} would be new, "
                f"{self.rows_already_present:,} are already present. Nothing was written."
            )
            if self.rows_rejected and not self.skip_invalid:
                head += (
                    " An ingest would refuse this file: fix the rows below, or pass "
                    "--skip-invalid to load the valid rows and record the rejected ones."
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
            if self.rows_repeated:
                head += f", {self.rows_repeated:,} left out for repeating an id"
            if self.rows_rejected:
                head += (
                    f", {self.rows_rejected:,} rejected and recorded in the batch's report "
                    "(--skip-invalid)"
                )
            head += "."
        else:
            head = (
                f"{self.file_name}: {self.rows_rejected:,} of {self.rows_read:,} rows "
                "are invalid, so nothing was written. Fix the file or the mapping, or pass "
                "--skip-invalid to load the valid rows and record the rejected ones."
            )
        return head


def _summed(counts: dict[str, int], key: Callable[[str], str]) -> dict[str, int]:
    summed: dict[str, int] = {}
    for hour in sorted(counts):
        summed[key(hour)] = summed.get(key(hour), 0) + counts[hour]
    return summed


class IngestRefused(Exception):
    """An ingest that wrote nothing, with the report that says why."""

    def __init__(self, message: str, report: IngestReport | None = None) -> None:
        super().__init__(message)
        self.report = report
