"""Rich progress bars for long work, drawn without a thread of their own."""

from __future__ import annotations

import time
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

# Redraw at most this often; updates come every thousand rows.
REFRESH_SECONDS = 0.1


@contextmanager
def progress_bar(
    label: str, *, in_bytes: bool = False, console: Console | None = None
) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)`` that draws a bar for ``label`` on stderr.

    The bar is redrawn by the updates themselves (``auto_refresh=False``): Rich's refresh
    thread would make ingest start its conversion worker by spawning instead of forking.
    """
    counter = DownloadColumn() if in_bytes else MofNCompleteColumn()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        counter,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        auto_refresh=False,
    ) as progress:
        task = progress.add_task(label, total=None)
        last = 0.0

        def update(done: int, total: int) -> None:
            nonlocal last
            progress.update(task, completed=done, total=total)
            now = time.monotonic()
            if now - last >= REFRESH_SECONDS or done >= total:
                progress.refresh()
                last = now

        yield update
