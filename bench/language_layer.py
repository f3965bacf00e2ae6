"""What a page in Spanish costs once it is kept: the site's whole ASGI app, in process,
answering ``/stops`` and ``/stops?lang=es`` (both kept answers after a warm-up), interleaved.

    .venv/bin/python bench/language_layer.py [--data bench/out/serve-data] [--rounds 7]

The language layer sits inside the answer cache, so a kept answer in either language is
replayed without it; the two should cost the same. No network: this isolates the app's own
work per request from the server's and the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal.settings import Settings  # noqa: E402
from portal.web.app import Site, create_app  # noqa: E402

CALLS = 3000


def _scope(path: str, query: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"accept-encoding", b"gzip")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }


async def _call(site: Site, path: str, query: bytes) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await site(_scope(path, query), receive, send)  # type: ignore[arg-type]
    return status


async def _run(site: Site, rounds: int) -> dict[str, list[float]]:
    urls = {"/stops": b"", "/stops?lang=es": b"lang=es"}
    for query in urls.values():
        for _ in range(50):
            assert await _call(site, "/stops", query) == 200
    times: dict[str, list[float]] = {url: [] for url in urls}
    for _ in range(rounds):
        for url, query in urls.items():
            start = time.perf_counter()
            for _ in range(CALLS):
                await _call(site, "/stops", query)
            times[url].append((time.perf_counter() - start) / CALLS * 1e6)
    return times


def main() -> None:
    """Print the median microseconds per kept answer in each language, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "bench" / "out" / "serve-data")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    site = create_app(Settings.for_directory(args.data))
    times = asyncio.run(_run(site, args.rounds))
    english, spanish = (statistics.median(t) for t in times.values())
    print(f"# kept answers through the whole app, {args.rounds} rounds of {CALLS:,} calls")
    for url, values in times.items():
        print(f"{url:<20} {statistics.median(values):6.2f} microseconds per request (median)")
    print(f"Spanish against English: {spanish / english:.2f}x")


if __name__ == "__main__":
    main()
