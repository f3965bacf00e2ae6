"""The public site under hostile traffic: unique query strings, and each worker's memory.

    .venv/bin/python bench/load.py [--duration 35] [--connections 64] [--workers 2]

Starts ``portal serve`` (``--workers``, default 2) over the demo's data (built as
bench/serve.py builds it, into ``bench/out/serve-data``) and sends it, with ``wrk`` and a
Lua script, requests that are each unique: unknown query parameters on cached pages, valid
URLs spelt many ways (stray ``&``, percent-encoded names and values, parameters reordered),
stale static file versions, filter values that do not exist, query strings of 1.5, 4.5 and
48 KB, doubled slashes (``--kinds`` picks some). An adversarial test of this kind once took
each worker from 158 MB to 1.7 GB in 35 s. It prints each worker's resident memory
(``VmRSS`` in ``/proc/PID/status``) before the load, every few seconds during it and after
it, and the answers' statuses.

``--code DIR`` serves the code in DIR instead of this checkout (an older commit exported
with ``git archive``, to compare), with this checkout's environment.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from serve import OUT, ROOT, ensure_data, free_port, stop_server

KINDS = [
    "unknown",
    "utm",
    "spelt",
    "static-version",
    "filter-value",
    "pad-1.5k",
    "pad-4.5k",
    "pad-48k",
    "slashes",
    "api-page",
]
# One request builder per kind of hostile URL; n is the request's number (unique per thread).
LUA = r"""
local release = "none"
local pad = string.rep("p", 1500)
local long_pad = string.rep("q", 48000)  -- uvicorn takes request targets of up to 64 KB
statuses = {}  -- global: done() reads it from each thread
local counter = 0
local threads = {}

local function spelt(n)
  -- /stops?period=P&district=D in many spellings, all one valid URL per district.
  local district = "d" .. (n % 6 + 1)
  local name = (n % 2 == 0) and "period" or "%70eriod"
  local value = (n % 3 == 0) and "2025Q4" or "%32%30%32%35%51%34"
  local stray = string.rep("&", n % 40)
  if n % 4 == 0 then
    return "/stops?" .. stray .. "district=" .. district .. "&" .. name .. "=" .. value
  end
  return "/stops?" .. stray .. name .. "=" .. value .. "&district=" .. district .. stray
end

local all_kinds = {
  ["unknown"] = function(n) return "/stops?x" .. n .. "=1" end,
  ["utm"] = function(n) return "/?utm_source=mail-" .. n end,
  ["spelt"] = spelt,
  ["static-version"] = function(n) return "/static/site.css?v=" .. n end,
  ["filter-value"] = function(n)
    return "/api/v1/releases/" .. release .. "/tables/stops_by_district?district=zz" .. n
  end,
  ["pad-1.5k"] = function(n) return "/crime?pad=" .. pad .. n end,
  ["pad-4.5k"] = function(n) return "/methodology?pad=" .. string.rep(pad, 3) .. n end,
  ["pad-48k"] = function(n) return "/static/site.css?pad=" .. long_pad .. n end,
  ["slashes"] = function(n) return "/releases" .. string.rep("/", n % 30 + 1) .. "?ref=" .. n end,
  ["api-page"] = function(n) return "/api/v1/releases?page=" .. n end,
}
local kinds = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  release = args[1]
  for name in string.gmatch(args[2], "[^,]+") do
    table.insert(kinds, all_kinds[name])
  end
end

function request()
  counter = counter + 1
  local path = kinds[counter % #kinds + 1](counter)
  return wrk.format("GET", path, {["Accept-Encoding"] = "gzip"})
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  for status, count in pairs(total) do
    io.write(string.format("status %d %d\n", status, count))
  end
end
"""


def workers_of(pid: int) -> list[int]:
    """The worker processes of a server: its children, without multiprocessing's resource
    tracker; the server itself when it has no children (one worker)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[1] == str(pid) and b"resource_tracker" not in command:
            children.append(int(stat.parent.name))
    return sorted(children) or [pid]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (``VmRSS``), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for process {pid}")


def start(
    code: Path, data_dir: Path, port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    """``portal serve`` of the code in ``code``, once it answers."""
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), "PYTHONPATH": str(code)}
    command = [sys.executable, "-c", "from portal.cli import main; main()", "serve"]
    args = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [*command, *args], cwd=code, env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    sys.exit(f"portal serve did not answer; its output ({log}):\n{log.read_text()[-4000:]}")


def warm(base: str, release: str) -> None:
    """Each canonical URL the load spells many ways, once, so that 'before' is a warm
    worker."""
    for path in (
        *(f"/stops?period=2025Q4&district=d{n}" for n in range(1, 7)),
        "/",
        "/crime",
        "/methodology",
        "/releases",
        "/api/v1/releases",
        f"/api/v1/releases/{release}/tables/stops_by_district",
    ):
        for _ in range(4):  # both workers, most likely
            with contextlib.suppress(OSError):
                urllib.request.urlopen(base + path, timeout=10).read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=35, help="seconds of load")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=int, default=5, help="seconds between memory readings")
    parser.add_argument("--stops", type=int, default=300_000, help="for building the data")
    parser.add_argument("--data-dir", type=Path, default=OUT / "serve-data")
    parser.add_argument("--code", type=Path, default=ROOT, help="the code to serve")
    parser.add_argument(
        "--kinds",
        type=lambda text: text.split(","),
        default=KINDS,
        help=f"comma-separated kinds of URL, sent in turn (default all: {','.join(KINDS)})",
    )
    args = parser.parse_args()
    unknown = sorted(set(args.kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds {', '.join(unknown)}; choose among {', '.join(KINDS)}")
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install -y wrk)")

    data_dir = args.data_dir.resolve()
    releases = ensure_data(data_dir, args.stops)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    server = start(args.code.resolve(), data_dir, port, args.workers, OUT / "load-server.log")
    readings: list[tuple[str, dict[int, float]]] = []
    try:
        with urllib.request.urlopen(f"{base}/api/v1/releases", timeout=10) as answer:
            release = json.loads(answer.read())[-1]["id"]
        warm(base, release)
        workers = workers_of(server.pid)
        readings.append(("before", {pid: rss_mb(pid) for pid in workers}))
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(LUA)
        started = time.monotonic()
        wrk = subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{args.connections}",
                f"-d{args.duration}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                script.name,
                base,
                "--",
                release,
                ",".join(args.kinds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        while wrk.poll() is None:
            time.sleep(min(args.every, max(0.1, args.duration - (time.monotonic() - started))))
            label = f"{round(time.monotonic() - started)} s"
            if wrk.poll() is None and label != readings[-1][0]:
                readings.append((label, {pid: rss_mb(pid) for pid in workers}))
        output = wrk.communicate()[0]
        readings.append(("after", {pid: rss_mb(pid) for pid in workers}))
        time.sleep(5)
        readings.append(("5 s later", {pid: rss_mb(pid) for pid in workers}))
        os.unlink(script.name)
    finally:
        stop_server(server)

    lines = [line.strip() for line in output.splitlines()]
    statuses = sorted(
        (int(line.split()[1]), int(line.split()[2])) for line in lines if line.startswith("status ")
    )
    done = next((line for line in lines if "requests in" in line), "?")
    p99 = next((line.split()[1] for line in lines if line.startswith("99%")), "?")
    code = "this checkout" if args.code.resolve() == ROOT else str(args.code)
    print(
        f"# portal serve ({code}; uvicorn, {args.workers} worker(s)) on 127.0.0.1; data "
        f"{data_dir.name} ({releases} releases)"
    )
    print(
        f"# load: wrk, 1 thread, {args.connections} connections, {args.duration} s, every request "
        f"a unique URL; kinds in turn: {', '.join(args.kinds)}"
    )
    print(f"# {done}; p99 {p99}; statuses: " + ", ".join(f"{s}: {c:,}" for s, c in statuses))
    print(f"{'when':<12}" + "".join(f"{f'worker {pid} MB':>18}" for pid in workers))
    for when, sizes in readings:
        print(f"{when:<12}" + "".join(f"{sizes[pid]:>18.1f}" for pid in workers))


if __name__ == "__main__":
    main()
