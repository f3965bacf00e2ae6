"""Run one ingest in a process of its own and print its time and peak memory as JSON.

Used by bench/ingest.py so that each measurement's peak RSS is that ingest's alone.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from portal.settings import Settings
from portal.stores import internal_engine, public_engine
from privacy.ingest import ingest_file, load_mapping


def own_peak_mb() -> float:
    """This process's peak resident memory in MB, of its own program only: the kernel's
    high-water mark of its memory since it started (``VmHWM``). ``ru_maxrss`` would start
    from the peak of the process that started it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    internal_url, public_url, path = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    settings = Settings(
        data_dir=path.parent, internal_db_url=internal_url, public_db_url=public_url
    )
    internal, public = internal_engine(settings), public_engine(settings)
    started = time.perf_counter()
    report = ingest_file(internal, public, "stops", path, load_mapping("synthetic-stops"))
    seconds = time.perf_counter() - started
    # The conversion worker is a child of this process; count the larger of the two.
    own = own_peak_mb()
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows_added": report.rows_added,
                "peak_rss_mb": own,
                "worker_peak_rss_mb": child,
            }
        )
    )


if __name__ == "__main__":
    main()
