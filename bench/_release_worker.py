"""Build releases in a process of their own and print their times and peak memory as JSON.

Used by bench/scale.py so that the peak RSS measured is the releases' alone.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from _ingest_worker import own_peak_mb

from portal.settings import Settings
from portal.stores import internal_engine, public_engine
from privacy.release.build import build_release
from privacy.release.policy import load_policy


def main() -> None:
    internal_url, public_url, *periods = sys.argv[1:]
    settings = Settings(data_dir=Path("."), internal_db_url=internal_url, public_db_url=public_url)
    internal, public = internal_engine(settings), public_engine(settings)
    policy = load_policy("quarterly")
    seconds = []
    for period in periods:
        started = time.perf_counter()
        build_release(internal, public, period, policy, actor="bench")
        seconds.append(time.perf_counter() - started)
    peak = own_peak_mb()
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak}))


if __name__ == "__main__":
    main()
