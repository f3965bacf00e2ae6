"""Read and convert in a second process while this one writes to the database.

Parsing and converting a large file and writing it to the store each take about half of an
ingest's time, and both are CPU-bound, so on a machine with two cores they overlap: a worker
process reads and converts chunks and sends them through a pipe; the caller writes them.
The pipe holds at most a few chunks, so memory stays flat. Small files are converted in
process, where starting a worker would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from privacy.ingest.convert import RowConverter
from privacy.ingest.mapping import Mapping
from privacy.ingest.reader import CsvSource
from privacy.ingest.report import IngestReport
from privacy.ingest.rows import converted_chunks

# Below this size a file is converted in the calling process.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Converted:
    """One chunk of converted rows and how far into the file the reader is."""

    rows: list[tuple[Any, ...]]
    bytes_read: int


def converted_stream(source: CsvSource, converter: RowConverter, report: IngestReport, *,
                     parallel: bool | None = None) -> Iterator[Converted]:
    """Converted chunks of ``source``; rows read, rejected and their problems land in
    ``report`` by the end. ``parallel`` None means: when the file is large and there are
    at least two CPUs."""
    if parallel is None:
        parallel = source.size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
    if not parallel:
        for rows in converted_chunks(source, converter, report):
            yield Converted(rows, source.bytes_read)
        return
    yield from _from_worker(source.path, converter.mapping, converter.datetime_as_text, report)


def _from_worker(path: Path, mapping: Mapping, datetime_as_text: bool,
                 report: IngestReport) -> Iterator[Converted]:
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_convert_file, args=(path, mapping, datetime_as_text, send),
                             daemon=True)
    worker.start()
    send.close()
    try:
        while True:
            kind, payload = pickle.loads(receive.recv_bytes())
            if kind == "rows":
                yield payload
            elif kind == "done":
                _merge(report, payload)
                return
            else:  # "error": the worker's exception, raised here as it would be in process
                raise payload
    finally:
        receive.close()
        worker.join(timeout=5)
        if worker.is_alive():
            worker.terminate()


def _convert_file(path: Path, mapping: Mapping, datetime_as_text: bool,
                  send: Connection) -> None:
    """The worker: read and convert the file, send each chunk, then the report."""
    try:
        report = IngestReport(kind=mapping.kind, mapping=mapping.name, file_name=path.name,
                              dry_run=False, skip_invalid=False)
        with CsvSource(path, encoding=mapping.encoding, delimiter=mapping.delimiter,
                       max_field_length=mapping.max_field_length) as source:
            converter = RowConverter(mapping, source.header, datetime_as_text=datetime_as_text)
            for rows in converted_chunks(source, converter, report):
                message = ("rows", Converted(rows, source.bytes_read))
                send.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        send.send_bytes(pickle.dumps(("done", report), protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as error:  # handed to the caller, who raises it
        send.send_bytes(pickle.dumps(("error", error)))
    finally:
        send.close()


def _merge(report: IngestReport, worker: IngestReport) -> None:
    report.rows_read += worker.rows_read
    report.rows_rejected += worker.rows_rejected
    report.problem_count += worker.problem_count
    report.problems.extend(worker.problems)
    report.file_sha256 = worker.file_sha256
