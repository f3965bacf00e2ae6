"""What a replayed answer costs in the site's own ASGI layers, without a server or a network.

    .venv/bin/python bench/replay.py [--data-dir bench/out/serve-data] [--requests 20000]

Builds the site over the demo's data (as bench/serve.py builds it), answers ``/stops``, the
versioned ``site.css`` and ``/api/v1/releases`` once each (so they are kept by the answer
cache), then calls the app directly with the same request ``--requests`` times per round,
``--rounds`` rounds, and prints microseconds per request (minimum and median of the
rounds). A server's figures move with whatever else the machine runs; these move much
less, so they compare two versions of the layers (run an older commit's code with
``PYTHONPATH=DIR``, DIR exported with ``git archive``).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

import portal
from portal.settings import Settings
from portal.web.app import create_app

OUT = Path(__file__).resolve().parent / "out"


async def per_request(app: Any, path: str, requests: int) -> float:
    """Microseconds per request for ``path``, called ``requests`` times."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"accept-encoding", b"gzip")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    started = time.perf_counter()
    for _ in range(requests):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=OUT / "serve-data")
    parser.add_argument("--requests", type=int, default=20_000, help="per round")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    app = create_app(Settings.for_directory(args.data_dir.resolve()))
    with TestClient(app) as client:
        css = re.search(r'href="(/static/site\.css\?v=[0-9a-f]+)"', client.get("/").text)
        paths = ["/stops", css[1] if css else "/static/site.css", "/api/v1/releases"]
        for path in paths:
            assert client.get(path, headers={"Accept-Encoding": "gzip"}).status_code == 200

        async def measure() -> None:
            print(f"# the site's code from {Path(portal.__file__).parent.parent}")
            print(f"# {args.rounds} rounds of {args.requests:,} requests per URL, replayed answers")
            print(f"{'url':<34}{'min us':>8}{'median us':>11}")
            for path in paths:
                rounds = [await per_request(app, path, args.requests) for _ in range(args.rounds)]
                print(f"{path:<34}{min(rounds):>8.2f}{statistics.median(rounds):>11.2f}")

        asyncio.run(measure())


if __name__ == "__main__":
    main()
