"""Rich progress bars for long work, quiet when output is not a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


@contextmanager
def progress_bar(label: str, *, in_bytes: bool = False,
                 console: Console | None = None) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)`` that draws a bar for ``label`` on stderr."""
    counter = DownloadColumn() if in_bytes else MofNCompleteColumn()
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), counter,
        TimeElapsedColumn(), TimeRemainingColumn(),
        console=console or Console(stderr=True), transient=False,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update
