"""Read and convert in a second process while this one writes to the database.

Parsing and converting a large file and writing it to the store each take about half of an
ingest's time, and both are CPU-bound, so on a machine with two cores they overlap: a worker
process reads and converts chunks and sends them through a pipe; the caller writes them.
The pipe holds at most a few chunks, so memory stays flat. Small files are converted in
process, where starting a worker would cost more than it saves.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

from privacy.ingest.convert import RowConverter
from privacy.ingest.copytext import CopyTarget, copy_records
from privacy.ingest.mapping import Mapping
from privacy.ingest.reader import CsvSource
from privacy.ingest.report import IngestReport, file_label
from privacy.ingest.rows import ConvertedColumns, converted_chunks
from publishing.lifeline import die_with_parent

# Below this size a file is converted in the calling process.
PARALLEL_MIN_BYTES = 8 * 1024 * 1024
# Converted chunks waiting for the database, at most (a chunk is 500 rows, about 0.33 MB
# once unpacked), whatever the file's size. PostgreSQL's writer takes its COPY text in
# bursts, and a shorter queue held its worker back: 128, about 40 MB (bench/RESULTS.md,
# session 28). Chunks of columns (SQLite's writer, and a dry run's) are taken one by one,
# and the worker is the faster: 32.
QUEUED_CHUNKS = {"copy": 128, "columns": 32}


@dataclass(frozen=True)
class Converted:
    """One chunk of converted records and how far into the file the reader is: each
    canonical field's values (a column per field, as the conversion makes them and as a
    multi-row INSERT binds them), beside the lines they were read from. For PostgreSQL the
    chunk comes as COPY text instead, with no lines and no columns.
    """

    lines: list[int]
    columns: list[list[Any]]
    copy: str | None  # COPY text of the records
    count: int
    bytes_read: int
    hours: Counter[str]  # records per "YYYY-MM-DD HH", for the report

    def column(self, at: int) -> list[Any]:
        """The values of the ``at``-th canonical field, row after row."""
        return self.columns[at]

    def rows(self) -> list[tuple[Any, ...]]:
        """``(line, *values)`` a row."""
        return list(zip(self.lines, *self.columns, strict=True))


# Where a converted record holds its time among its values: (source_id, occurred_at, ...)
# for every kind of record (privacy/schema.py puts the id and the time first).
OCCURRED_AT = 1


def hour_of(moment: object) -> str:
    """ "YYYY-MM-DD HH" of a time: converted (text), or read back (a datetime on PostgreSQL)."""
    return (moment if isinstance(moment, str) else str(moment))[:13]


def _converted(chunk: ConvertedColumns, bytes_read: int, as_copy: CopyTarget | None) -> Converted:
    lines, columns = chunk.lines, chunk.columns
    times = columns[OCCURRED_AT]
    if times and isinstance(times[0], str):  # the stored text: sliced at C speed
        hours = Counter([moment[:13] for moment in times])
    else:
        hours = Counter([hour_of(moment) for moment in times])
    if as_copy is not None:
        records = copy_records(lines, columns, as_copy)
        return Converted([], [], records, len(lines), bytes_read, hours)
    return Converted(lines, columns, None, len(lines), bytes_read, hours)


def converted_stream(
    source: CsvSource,
    converter: RowConverter,
    report: IngestReport,
    *,
    parallel: bool | None = None,
    as_copy: CopyTarget | None = None,
) -> Iterator[Converted]:
    """Converted chunks of ``source``; rows read, rejected and their problems land in
    ``report`` by the end. ``parallel`` None means: when the file is large and there are
    at least two CPUs. ``as_copy`` delivers PostgreSQL COPY text for that source and batch
    instead of tuples."""
    if parallel is None:
        parallel = source.size >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
    if not parallel:
        for chunk in converted_chunks(source, converter, report, for_copy=as_copy is not None):
            yield _converted(chunk, source.bytes_read, as_copy)
        return
    yield from _from_worker(source.path, converter, as_copy, report)


def _from_worker(
    path: Path,
    converter: RowConverter,
    as_copy: CopyTarget | None,
    report: IngestReport,
) -> Iterator[Converted]:
    method = _start_method()
    context = (
        multiprocessing.get_context("fork")
        if method == "fork"
        else multiprocessing.get_context("spawn")
    )
    receive, send = context.Pipe(duplex=False)
    # A forked worker inherits the read end too, and must close it: otherwise, with this
    # process gone, its writes would block forever instead of failing.
    inherited = receive if method == "fork" else None
    worker = context.Process(
        target=_convert_file,
        args=(
            path,
            converter.mapping,
            converter.datetime_as_text,
            as_copy,
            send,
            _Family(os.getpid(), inherited),
        ),
        daemon=True,
    )
    worker.start()
    send.close()
    # A thread drains the pipe into a bounded queue, so the worker keeps converting while
    # this thread waits on the database (which releases the GIL), and unpacks each message
    # meanwhile; the bound keeps memory flat.
    queued = QUEUED_CHUNKS["columns" if as_copy is None else "copy"]
    inbox: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=queued)
    drain = threading.Thread(target=_drain, args=(receive, inbox), daemon=True)
    drain.start()
    finished = False
    try:
        while True:
            message = inbox.get()
            if message is None:
                raise RuntimeError("the ingest worker stopped without a word")
            kind, payload = message
            if kind == "columns":
                lines, columns, bytes_read, hours = payload
                yield Converted(lines, columns, None, len(lines), bytes_read, Counter(hours))
            elif kind == "copy":
                yield payload
            elif kind == "done":
                _merge(report, payload)
                finished = True
                return
            else:  # "error": the worker's exception, raised here as it would be in process
                raise payload
    finally:
        # After "done" the worker is only exiting; on an early exit (a database error here)
        # it may still be converting, and is stopped.
        if finished:
            worker.join(timeout=5)
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=5)
        while drain.is_alive():  # unblock the drain thread so that it sees the end
            with suppress(queue.Empty):
                inbox.get(timeout=0.1)
        receive.close()


def _start_method() -> Literal["fork", "spawn"]:
    """Fork (no re-imports, a second faster) unless this process runs other threads: a
    forked child could inherit a lock one of them held at that moment. Then spawn."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _drain(receive: Connection, inbox: queue.Queue[tuple[str, Any] | None]) -> None:
    while True:
        try:
            message = receive.recv_bytes()
        except (EOFError, OSError):  # the worker is gone
            inbox.put(None)
            return
        try:
            unpacked = _unpack(message)
        except BaseException as error:  # a message that cannot be read: the writer raises it
            inbox.put(("error", error))
            return
        inbox.put(unpacked)


@dataclass(frozen=True)
class _Family:
    """What the worker needs to know of the process that started it."""

    parent_pid: int
    inherited: Connection | None  # the parent's end of the pipe, when forked


def _convert_file(
    path: Path,
    mapping: Mapping,
    datetime_as_text: bool,
    as_copy: CopyTarget | None,
    send: Connection,
    family: _Family,
) -> None:
    """The worker: read and convert the file, send each chunk, then the report."""
    # Ctrl-C reaches the whole process group: the worker leaves it to the parent, which
    # stops the worker itself. And the worker dies with the ingest, even a SIGKILLed one
    # (nothing of its work is kept without the parent).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(family.parent_pid)
    if family.inherited is not None:
        family.inherited.close()
    try:
        _convert_and_send(path, mapping, datetime_as_text, as_copy, send)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the parent stopped listening (it failed, or is gone): end quietly
    finally:
        send.close()


def _convert_and_send(
    path: Path,
    mapping: Mapping,
    datetime_as_text: bool,
    as_copy: CopyTarget | None,
    send: Connection,
) -> None:
    try:
        report = IngestReport(
            kind=mapping.kind,
            mapping=mapping.name,
            file_name=file_label(path),
            dry_run=False,
            skip_invalid=False,
        )
        with mapping.open(path) as source:
            converter = RowConverter(mapping, source.header, datetime_as_text=datetime_as_text)
            chunks = converted_chunks(source, converter, report, for_copy=as_copy is not None)
            for chunk in chunks:
                # Converted here, as columns or as COPY text: the writing process is the busier.
                converted = _converted(chunk, source.bytes_read, as_copy)
                if converted.copy is None:
                    columns = (
                        converted.lines,
                        converted.columns,
                        converted.bytes_read,
                        dict(converted.hours),
                    )
                    send.send_bytes(_pack("columns", columns))
                else:
                    send.send_bytes(_pack("copy", converted))
        send.send_bytes(_pack("done", report))
    except (BrokenPipeError, ConnectionResetError):
        raise  # the pipe broke: there is no one left to tell
    except Exception as error:  # handed to the caller, who raises it
        send.send_bytes(_pack("error", error))


# How a message crossed the pipe: its first byte.
_MARSHALLED, _PICKLED = b"m", b"p"


def _pack(kind: str, payload: Any) -> bytes:
    """A message for the pipe. Columns of strings, numbers and None go by marshal, which
    writes and reads them several times faster than pickle; anything else by pickle."""
    if kind == "columns":
        with suppress(ValueError):  # a value marshal cannot carry (a date, say)
            return _MARSHALLED + marshal.dumps(payload)
    return _PICKLED + pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(message: bytes) -> tuple[str, Any]:
    """What :func:`_pack` packed."""
    if message[:1] == _MARSHALLED:
        return "columns", marshal.loads(memoryview(message)[1:])
    kind, payload = pickle.loads(memoryview(message)[1:])
    return kind, payload


def _merge(report: IngestReport, worker: IngestReport) -> None:
    report.rows_read += worker.rows_read
    report.rows_rejected += worker.rows_rejected
    report.problem_count += worker.problem_count
    report.problems.extend(worker.problems)
    report.file_sha256 = worker.file_sha256
