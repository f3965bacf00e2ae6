"""The public site under load: a dashboard page and an API route against a static file.

    .venv/bin/python bench/serve.py [--duration 10] [--rounds 5] [--connections 64]

Builds the demo's data once (``portal demo --stops 300000 --no-serve`` into
``bench/out/serve-data``; reused while its public store has releases), starts ``portal
serve`` (uvicorn; ``--workers``, default one per CPU as ``portal serve``) in a process of
its own on a free loopback port, and loads
three of its URLs from a second process: the stops dashboard (``/stops``), an API route
(``/api/v1/releases``) and a static file (``/static/site.css``, versioned as the pages link
it). Every request sends ``Accept-Encoding: gzip``, as a browser does.

The load generator is ``wrk --latency`` (Debian package ``wrk``) with one thread (it needs
a fraction of a core at these rates); without it, a Python asyncio client in
a separate process stands in (it costs more CPU per request, so its rates are lower bounds
and the output says so). After a warm-up of each URL, the three loads run interleaved
(static, page, API, static, page, API, ...) in ``--rounds`` rounds that share ``--duration``
seconds per URL; the figures are the medians of the rounds, and each round's ratios are
taken from loads run side by side.

Then it measures a first visit to the home page: ``/`` and the same-origin scripts and
style sheets it links, with gzip, counting the bodies as sent.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
PORTAL = ROOT / ".venv" / "bin" / "portal"

PAGE, API, STATIC = "/stops", "/api/v1/releases", "/static/site.css"
GOAL_PAGE_RATIO = 0.9  # dashboard requests/s over the static file's
GOAL_P99_MS = 50.0
GOAL_FIRST_VISIT = 1_000_000  # bytes
ACCEPT = "gzip"


@dataclass(frozen=True)
class Load:
    """One load run against one URL."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int  # non-2xx/3xx responses, socket errors and timeouts
    server_cpu: float | None = None  # server CPU seconds per wall second

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


# --- data and server --------------------------------------------------------------------


def releases_in(data_dir: Path) -> int:
    store = data_dir / "public.sqlite3"
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as connection:
            return int(connection.execute("SELECT count(*) FROM releases").fetchone()[0])
    except sqlite3.Error:
        return 0


def ensure_data(data_dir: Path, stops: int) -> int:
    """The demo's stores in ``data_dir`` (built unless they already hold releases)."""
    if not releases_in(data_dir):
        print(f"building the demo's data ({stops:,} stops) in {data_dir} ...", file=sys.stderr)
        data_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(PORTAL), "demo", "--stops", str(stops), "--no-serve", "--no-reports"],
            check=True,
            cwd=ROOT,
            env={**os.environ, "PORTAL_DATA_DIR": str(data_dir)},
            stdout=sys.stderr,
        )
    return releases_in(data_dir)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body as sent (not decompressed)."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": ACCEPT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


def start_server(data_dir: Path, port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """``portal serve`` in its own process, once it answers; exits the bench if it fails."""
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [
                str(PORTAL),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=ROOT,
            env={**os.environ, "PORTAL_DATA_DIR": str(data_dir)},
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            fetch(f"http://127.0.0.1:{port}/", timeout=2)
            return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    print(
        f"error: portal serve did not answer on port {port} (exit status {server.poll()});"
        f" its output ({log}):\n{log.read_text(errors='replace')[-4000:]}"
    )
    sys.exit(1)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process and its children, the workers (Linux), or
    None."""
    total, found = 0.0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # the process, or a child
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            found = found or stat.parent.name == str(pid)
    return total if found else None


# --- load generators --------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(value: str) -> float:
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", value)
    if found is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    return float(found[1]) * _UNITS[found[2]]


def parse_wrk(output: str) -> Load:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", output)
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE)
    if done is None or p50 is None or p99 is None:
        raise ValueError(f"cannot read wrk's output:\n{output}")
    bad = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    bad += int(non2xx[1]) if non2xx else 0
    return Load(
        requests=int(done[1]),
        seconds=_ms(done[2] + done[3]) / 1e3,
        p50_ms=_ms(p50[1]),
        p99_ms=_ms(p99[1]),
        bad=bad,
    )


def run_wrk(url: str, seconds: int, connections: int, threads: int) -> Load:
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-H",
            f"Accept-Encoding: {ACCEPT}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return parse_wrk(result.stdout)


def run_python(url: str, seconds: int, connections: int) -> Load:
    """The asyncio client of this file, in a process of its own."""
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--client",
            url,
            "--duration",
            str(seconds),
            "--connections",
            str(connections),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return Load(**json.loads(result.stdout))


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.partition(":") for line in lines[1:] if line)
    }
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status


async def _client(url: str, seconds: float, connections: int) -> dict[str, object]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Accept-Encoding: {ACCEPT}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    bad = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def connection() -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - sent)
                bad += status >= 400
        except (OSError, asyncio.IncompleteReadError, ValueError):
            bad += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]

    def quantile(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3

    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "p50_ms": quantile(0.50),
        "p99_ms": quantile(0.99),
        "bad": bad,
    }


# --- first visit ------------------------------------------------------------------------


class _Assets(HTMLParser):
    """The ``<script src>`` and ``<link rel=stylesheet href>`` URLs of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(str(found["src"]))
        elif (
            tag == "link"
            and found.get("href")
            and "stylesheet" in (found.get("rel") or "").lower().split()
        ):
            self.urls.append(str(found["href"]))


def first_visit(base: str) -> tuple[list[tuple[str, int, str, int, int]], str | None]:
    """(path, status, encoding, bytes as sent, bytes decoded) for ``/`` and its assets, and
    the versioned URL under which the page links ``site.css`` (if it does)."""
    home = urljoin(base, "/")
    status, headers, body = fetch(home)
    rows = [_row(home, status, headers, body)]
    parser = _Assets()
    parser.feed(_decoded(headers, body).decode("utf-8", errors="replace"))
    css = None
    for link in dict.fromkeys(parser.urls):
        url = urljoin(home, link)
        if urlsplit(url).netloc != urlsplit(home).netloc:
            continue
        status, headers, body = fetch(url)
        rows.append(_row(url, status, headers, body))
        if urlsplit(url).path == STATIC:
            css = rows[-1][0]
    return rows, css


def _decoded(headers: dict[str, str], body: bytes) -> bytes:
    encoding = {k.lower(): v for k, v in headers.items()}.get("content-encoding", "")
    return gzip.decompress(body) if encoding == "gzip" else body


def _row(
    url: str, status: int, headers: dict[str, str], body: bytes
) -> tuple[str, int, str, int, int]:
    parts = urlsplit(url)
    encoding = {k.lower(): v for k, v in headers.items()}.get("content-encoding", "-")
    return (
        parts.path + (f"?{parts.query}" if parts.query else ""),
        status,
        encoding,
        len(body),
        len(_decoded(headers, body)),
    )


# --- the bench --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--duration", type=int, default=10, help="seconds of load per URL, shared by the rounds"
    )
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per URL, discarded")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="portal serve's worker processes (default: one per CPU, as it)",
    )
    parser.add_argument("--stops", type=int, default=300_000, help="for building the data")
    parser.add_argument("--data-dir", type=Path, default=OUT / "serve-data")
    parser.add_argument("--load-generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:  # the Python load generator's own process
        print(json.dumps(asyncio.run(_client(args.client, args.duration, args.connections))))
        return

    wrk = shutil.which("wrk")
    use_wrk = args.load_generator == "wrk" or (args.load_generator == "auto" and wrk)
    if args.load_generator == "wrk" and not wrk:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    data_dir = args.data_dir.resolve()
    releases = ensure_data(data_dir, args.stops)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(data_dir, port, args.workers, OUT / "serve-server.log")
    try:
        visit, css = first_visit(base)
        urls = {"static": css or STATIC, "page": PAGE, "api": API}
        step = max(1, round(args.duration / args.rounds))

        def load(path: str, seconds: int) -> Load:
            before, started = cpu_seconds(server.pid), time.perf_counter()
            if use_wrk:
                figures = run_wrk(base + path, seconds, args.connections, args.threads)
            else:
                figures = run_python(base + path, seconds, args.connections)
            after, wall = cpu_seconds(server.pid), time.perf_counter() - started
            busy = (after - before) / wall if before is not None and after is not None else None
            return Load(
                figures.requests, figures.seconds, figures.p50_ms, figures.p99_ms, figures.bad, busy
            )

        checks = {name: fetch(base + path) for name, path in urls.items()}
        for path in urls.values():
            load(path, args.warmup)
        rounds: list[dict[str, Load]] = []
        for _ in range(args.rounds):
            rounds.append({name: load(path, step) for name, path in urls.items()})
    finally:
        stop_server(server)

    if use_wrk:
        version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
        release = version[1].rsplit("/", 1)[-1] if len(version) > 1 else "?"
        generator = f"wrk {release} --latency, {args.threads} thread(s)"
    else:
        why = "chosen" if wrk else "wrk not found"
        generator = (
            f"Python asyncio client in its own process ({why}; it competes with the "
            "server for the 2 cores, so read its rates as lower bounds)"
        )
    print(
        f"# portal serve (uvicorn, {args.workers} worker(s), {os.cpu_count()} CPUs) on "
        f"127.0.0.1; data {data_dir.name} "
        f"({releases} releases)"
    )
    print(f"# load: {generator}, {args.connections} connections, Accept-Encoding: {ACCEPT}")
    print(
        f"# {args.warmup} s warm-up per URL, then {args.rounds} interleaved rounds of {step} s"
        f" per URL (static, page, api); figures are medians of rounds"
    )
    print(
        f"{'url':<34}{'status':>7}{'enc':>6}{'bytes':>8}{'req/s':>9}{'p50 ms':>8}"
        f"{'p99 ms':>8}{'srv cpu':>8}{'errors':>7}{'/static':>9}  goals"
    )
    for name, path in urls.items():
        status, headers, body = checks[name]
        encoding = {k.lower(): v for k, v in headers.items()}.get("content-encoding", "-")
        runs = [r[name] for r in rounds]
        rate = statistics.median(r.rate for r in runs)
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        cpus = [r.server_cpu for r in runs if r.server_cpu is not None]
        cpu = f"{statistics.median(cpus):.0%}" if cpus else "-"
        ratio = statistics.median(r[name].rate / r["static"].rate for r in rounds)
        goals = [f"p99 < {GOAL_P99_MS:.0f} ms: {'met' if p99 < GOAL_P99_MS else 'MISSED'}"]
        if name == "page":
            goals.insert(
                0,
                f">= {GOAL_PAGE_RATIO}x static: {'met' if ratio >= GOAL_PAGE_RATIO else 'MISSED'}",
            )
        shown = f"{ratio:.2f}x" if name != "static" else ""
        print(
            f"{path:<34}{status:>7}{encoding:>6}{len(body):>8,}{rate:>9,.0f}{p50:>8.1f}"
            f"{p99:>8.1f}{cpu:>8}{sum(r.bad for r in runs):>7}{shown:>9}  {'; '.join(goals)}"
        )
    print(
        "req/s by round: "
        + "; ".join(f"{name} " + " ".join(f"{r[name].rate:,.0f}" for r in rounds) for name in urls)
    )

    total = sum(row[3] for row in visit)
    print(
        "\n# first visit to the home page: / and its same-origin scripts and style sheets, "
        "gzip accepted"
    )
    print(f"{'url':<52}{'status':>7}{'enc':>6}{'sent':>11}{'decoded':>11}")
    for path, status, encoding, sent, decoded in visit:
        print(f"{path:<52}{status:>7}{encoding:>6}{sent:>11,}{decoded:>11,}")
    print(
        f"{'total (bodies as sent)':<65}{total:>11,}{sum(r[4] for r in visit):>11,}  "
        f"goal < {GOAL_FIRST_VISIT:,} bytes: {'met' if total < GOAL_FIRST_VISIT else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
