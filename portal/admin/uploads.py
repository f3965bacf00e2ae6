"""Uploads: a file is kept, checked in the background with the ingest's own converter (its
progress shown), and committed only when an analyst asks, whole or, when some rows are
refused, only its valid rows (which is recorded). Nothing is written before that."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from portal.admin.state import ConsoleState
from privacy.ingest import ingest_file
from privacy.ingest.check import check_file
from privacy.ingest.mapping import Mapping, MappingError, load_mapping, shipped_mapping_names
from privacy.ingest.report import IngestRefused, IngestReport
from privacy.schema import RECORD_KINDS
from privacy.store.audit import record_audit, utc_now
from privacy.store.console import Upload

log = logging.getLogger(__name__)
KINDS = ("stops", "incidents", "force", "areas", "focus-areas")
# Example values kept per group of rejected rows, and unmapped values shown per field.
SHOWN = 5


class UploadRefused(ValueError):
    """The upload cannot go on as asked; the message says why."""


@dataclass(frozen=True)
class UploadInfo:
    """An upload as the console shows it."""

    id: int
    kind: str
    mapping: str
    file_name: str
    size: int
    uploaded_by: str
    uploaded_at: Any
    status: str
    bytes_done: int
    report: dict[str, Any] | None
    message: str | None

    @property
    def percent(self) -> int:
        """How far the current pass has read, in percent."""
        return min(100, int(100 * self.bytes_done / self.size)) if self.size else 100


def mapping_names(mapping_dir: Path) -> list[str]:
    """The mappings an upload may use: the department's own, then the shipped ones."""
    own = sorted(p.stem for p in mapping_dir.glob("*.toml")) if mapping_dir.is_dir() else []
    return own + [n for n in shipped_mapping_names() if n not in own]


def choose_mapping(mapping_dir: Path, name: str, kind: str) -> Mapping:
    """The mapping ``name`` for ``kind``; refused when there is none or it is for another
    kind."""
    if name not in mapping_names(mapping_dir):
        raise UploadRefused(f"no mapping named {name!r}")
    own = mapping_dir / f"{name}.toml"
    try:
        mapping = load_mapping(own if own.is_file() else name)
    except MappingError as error:
        raise UploadRefused(str(error)) from None
    if mapping.kind != kind:
        raise UploadRefused(f"mapping {name!r} is for {mapping.kind}, not {kind}")
    return mapping


def new_upload(
    state: ConsoleState,
    kind: str,
    mapping: str,
    file_name: str,
    stored: Path,
    size: int,
    actor: str,
) -> int:
    """Record a kept file and start checking it; return the upload's id."""
    with state.internal.begin() as connection:
        upload_id = connection.execute(
            insert(Upload)
            .values(
                kind=kind,
                mapping=mapping,
                file_name=file_name[:512],
                stored_as=str(stored),
                size=size,
                uploaded_by=actor,
                uploaded_at=utc_now(),
                status="running",
                bytes_done=0,
            )
            .returning(Upload.id)
        ).scalar_one()
        record_audit(
            connection,
            actor,
            "upload",
            {
                "upload": upload_id,
                "kind": kind,
                "mapping": mapping,
                "file": file_name[:200],
                "bytes": size,
            },
        )
    state.worker.submit(_check, state, upload_id)
    return int(upload_id)


def upload_now(state: ConsoleState, upload_id: int) -> UploadInfo:
    """The upload, with the progress of a pass still running."""
    found = get_upload(state.internal, upload_id)
    if found.status == "running":
        found = replace(found, bytes_done=state.progress.get(upload_id, 0))
    return found


def get_upload(internal: Engine, upload_id: int) -> UploadInfo:
    """The upload ``upload_id``; refused when there is none."""
    with internal.connect() as connection:
        row = connection.execute(select(Upload).where(Upload.id == upload_id)).first()
    if row is None:
        raise UploadRefused(f"there is no upload {upload_id}")
    return _info(row)


def list_uploads(internal: Engine) -> list[UploadInfo]:
    """Every upload, newest first."""
    with internal.connect() as connection:
        rows = connection.execute(select(Upload).order_by(Upload.id.desc())).all()
    return [_info(row) for row in rows]


def _info(row: Any) -> UploadInfo:
    return UploadInfo(
        row.id,
        row.kind,
        row.mapping,
        row.file_name,
        row.size,
        row.uploaded_by,
        row.uploaded_at,
        row.status,
        row.bytes_done,
        json.loads(row.report) if row.report else None,
        row.message,
    )


def commit_upload(state: ConsoleState, upload_id: int, *, actor: str, valid_only: bool) -> None:
    """Start writing a checked upload: whole, or (``valid_only``) its valid rows only,
    which a file with refused rows requires."""
    upload = get_upload(state.internal, upload_id)
    if upload.status != "checked":
        raise UploadRefused(
            f"upload {upload_id} is {upload.status}: only a checked upload can be committed"
        )
    rejected = (upload.report or {}).get("rows_rejected", 0)
    if rejected and not valid_only:
        raise UploadRefused(
            f"{rejected:,} rows of this file are refused: fix the file or the mapping and "
            "upload it again, or choose to commit only the valid rows"
        )
    if valid_only and upload.kind not in RECORD_KINDS:
        raise UploadRefused(f"{upload.kind} files are loaded whole or not at all")
    with state.internal.begin() as connection:
        changed = connection.execute(
            update(Upload)
            .where(Upload.id == upload_id, Upload.status == "checked")
            .values(status="running", bytes_done=0)
        ).rowcount
        if changed != 1:
            raise UploadRefused(f"upload {upload_id} is being committed by someone else")
        state.progress[upload_id] = 0
        record_audit(
            connection,
            actor,
            "commit upload",
            {"upload": upload_id, "valid_rows_only": valid_only, "rows_rejected": rejected},
        )
    state.worker.submit(_commit, state, upload_id, actor, valid_only)


def discard_upload(state: ConsoleState, upload_id: int, *, actor: str) -> None:
    """Forget a checked or failed upload: its kept file is removed, nothing was written."""
    upload = get_upload(state.internal, upload_id)
    if upload.status not in ("checked", "failed"):
        raise UploadRefused(f"upload {upload_id} is {upload.status} and cannot be discarded")
    _finish(state.internal, upload_id, "discarded", None, None)
    _remove(state, upload_id)
    state.audit(actor, "discard upload", {"upload": upload_id})


def _check(state: ConsoleState, upload_id: int) -> None:
    upload = get_upload(state.internal, upload_id)
    path = _stored(state, upload_id)
    try:
        mapping = choose_mapping(state.mapping_dir, upload.mapping, upload.kind)
        report = ingest_file(
            state.internal,
            state.public,
            upload.kind,
            path,
            mapping,
            dry_run=True,
            progress=_progress(state, upload_id),
            parallel=False,
        )
        summary = _summary(report)
        if upload.kind in RECORD_KINDS:
            summary |= _grouped(check_file(mapping, path))
    except (UploadRefused, IngestRefused, MappingError) as error:
        _finish(state.internal, upload_id, "failed", None, str(error))
        return
    except Exception as error:
        log.exception("checking upload %s failed", upload_id)
        _finish(state.internal, upload_id, "failed", None, f"the check failed: {error}")
        return
    _finish(state.internal, upload_id, "checked", summary, None)


def _commit(state: ConsoleState, upload_id: int, actor: str, valid_only: bool) -> None:
    upload = get_upload(state.internal, upload_id)
    try:
        mapping = choose_mapping(state.mapping_dir, upload.mapping, upload.kind)
        report = ingest_file(
            state.internal,
            state.public,
            upload.kind,
            _stored(state, upload_id),
            mapping,
            skip_invalid=valid_only,
            actor=actor,
            progress=_progress(state, upload_id),
            parallel=False,
        )
    except (UploadRefused, IngestRefused, MappingError) as error:
        _finish(state.internal, upload_id, "checked", upload.report, f"nothing written: {error}")
        return
    except Exception as error:
        log.exception("committing upload %s failed", upload_id)
        _finish(
            state.internal,
            upload_id,
            "checked",
            upload.report,
            f"nothing written: the ingest failed ({error})",
        )
        return
    summary = (upload.report or {}) | {
        "rows_added": report.rows_added,
        "rows_already_present": report.rows_already_present,
        "batch_id": report.batch_id,
    }
    _finish(state.internal, upload_id, "committed", summary, None)
    _remove(state, upload_id)


def _summary(report: IngestReport) -> dict[str, Any]:
    return {
        "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted,
        "rows_rejected": report.rows_rejected,
        "rows_repeated": report.rows_repeated,
        "per_month": report.by_month(),
        "notes": list(report.notes),
        "problems": report.problem_lines()[:20],
    }


def _grouped(checked: Any) -> dict[str, Any]:
    groups = [
        {
            "field": f,
            "column": c,
            "reason": r,
            "count": g.count,
            "lines": g.lines,
            "values": g.values[:SHOWN],
        }
        for (f, c, r), g in sorted(checked.rejections.items(), key=lambda kv: -kv[1].count)
    ]
    unmapped = {
        name: {
            "columns": list(u.columns),
            "fallback": u.fallback,
            "values": u.counts.most_common(SHOWN),
            "distinct": len(u.counts),
        }
        for name, u in checked.unmapped.items()
        if u.counts
    }
    return {"rejections": groups, "unmapped": unmapped}


def _progress(state: ConsoleState, upload_id: int) -> Callable[[int, int], None]:
    """Progress is kept in memory: on SQLite the ingest holds the store's write lock until
    it commits, so the store cannot take it meanwhile."""

    def report(done: int, total: int) -> None:
        state.progress[upload_id] = done

    return report


def _finish(
    internal: Engine,
    upload_id: int,
    status: str,
    report: dict[str, Any] | None,
    message: str | None,
) -> None:
    with internal.begin() as connection:
        size = connection.execute(select(Upload.size).where(Upload.id == upload_id)).scalar()
        connection.execute(
            update(Upload)
            .where(Upload.id == upload_id)
            .values(
                status=status,
                report=json.dumps(report) if report is not None else None,
                message=message,
                bytes_done=size,
            )
        )


def _stored(state: ConsoleState, upload_id: int) -> Path:
    with state.internal.connect() as connection:
        stored = connection.execute(
            select(Upload.stored_as).where(Upload.id == upload_id)
        ).scalar_one()
    return Path(stored)


def _remove(state: ConsoleState, upload_id: int) -> None:
    stored = _stored(state, upload_id)
    stored.unlink(missing_ok=True)
    if stored.parent != state.upload_dir:
        with contextlib.suppress(OSError):
            stored.parent.rmdir()


def wait_idle(state: ConsoleState, timeout: float = 120.0) -> None:
    """Wait until every upload asked for so far is checked or committed (for tests and
    for a server shutting down)."""
    state.worker.submit(lambda: None).result(timeout=timeout)
