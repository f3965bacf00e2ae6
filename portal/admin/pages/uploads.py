"""Upload a file, watch its check, read its validation report, commit or discard it."""

from __future__ import annotations

import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from portal.admin.errors import Refused, refusal
from portal.admin.pages.render import done, page
from portal.admin.state import acting, console_state
from portal.admin.uploads import (
    KINDS,
    UploadRefused,
    choose_mapping,
    commit_upload,
    discard_upload,
    list_uploads,
    mapping_names,
    new_upload,
    upload_now,
)

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
CHUNK = 1024 * 1024
# What a browser may call a CSV file; the bytes are checked too.
CSV_TYPES = {
    "text/csv",
    "application/csv",
    "application/vnd.ms-excel",
    "text/plain",
    "application/octet-stream",
    "",
}
Form = Body(media_type=RequestEncodingType.URL_ENCODED)


@dataclass
class UploadForm:
    """The upload form: what the file holds, the mapping that reads it, the file."""

    kind: str
    mapping: str
    file: UploadFile


def _refuse(request: Request[Any, Any, Any], status: int, message: str, **detail: Any) -> Refused:
    return refusal(request, status, message, "upload", **detail)


# Not in a thread: Litestar 2.25 wraps a threaded GET twice when its path also takes a
# POST, and the page would come back as an unawaited coroutine (the listing is quick).
@get("/uploads", opt={"permission": "upload"}, sync_to_thread=False)
def uploads(request: Request[Any, Any, Any]) -> Template:
    """The upload form and every upload so far."""
    state = console_state(request)
    return page(
        request,
        "uploads.html",
        "Uploads",
        uploads=list_uploads(state.internal),
        kinds=KINDS,
        mappings=mapping_names(state.mapping_dir),
        limit_mb=state.max_upload_bytes // (1024 * 1024),
    )


@post(
    "/uploads",
    opt={"permission": "upload"},
    request_max_body_size=MAX_UPLOAD_BYTES + 64 * 1024,
)
async def upload(
    request: Request[Any, Any, Any],
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Redirect:
    """Keep the file and start its check; nothing is written to the records."""
    state, account = acting(request)
    name = data.file.filename or ""
    if data.kind not in KINDS:
        raise _refuse(
            request, 400, f"{data.kind!r} is not a kind of file; choose one of {', '.join(KINDS)}"
        )
    try:  # a mapping for another kind is refused now, not after the upload
        choose_mapping(state.mapping_dir, data.mapping, data.kind)
    except UploadRefused as error:
        raise _refuse(request, 400, str(error)) from None
    if not name.lower().endswith(".csv") or data.file.content_type not in CSV_TYPES:
        raise _refuse(
            request,
            415,
            f"{name or 'the file'} is not a CSV file (a .csv name and "
            "text, not a spreadsheet or an archive): export it as CSV",
            file=name[:200],
        )
    # Each upload in a folder of its own under the file's own name, which the ingest
    # records with the batch (only its safe characters: it becomes a path).
    folder = state.upload_dir / uuid.uuid4().hex
    folder.mkdir(parents=True)
    stored = folder / (re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-200:] or "upload.csv")
    size = 0
    head = b""
    with stored.open("wb") as out:
        while chunk := await data.file.read(CHUNK):
            size += len(chunk)
            if size > state.max_upload_bytes:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise _refuse(
                    request,
                    413,
                    f"the file is larger than the limit of {state.max_upload_bytes:,} bytes",
                )
            if len(head) < 4096:
                head += chunk[: 4096 - len(head)]
            out.write(chunk)
    if size == 0 or b"\x00" in head or head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        shutil.rmtree(folder, ignore_errors=True)
        why = "empty" if size == 0 else "not text (a spreadsheet, an archive or another binary)"
        raise _refuse(
            request, 415, f"{name} is {why}: upload the data as a CSV file", file=name[:200]
        )
    # In a worker thread: recording the upload waits for the store's write lock, which
    # another upload's ingest may hold, and every other request would wait with it.
    upload_id = await sync_to_thread(
        new_upload, state, data.kind, data.mapping, name, stored, size, account.name
    )
    return done(request, f"/uploads/{upload_id}", f"{name} uploaded; it is being checked.")


@get("/uploads/{upload_id:int}", opt={"permission": "upload"}, sync_to_thread=True)
def upload_page(request: Request[Any, Any, Any], upload_id: FromPath[int]) -> Template:
    """The check's progress, then the validation report and the choices."""
    state = console_state(request)
    try:
        found = upload_now(state, upload_id)
    except UploadRefused as error:
        raise _refuse(request, 404, str(error)) from None
    return page(request, "upload.html", f"Upload {found.file_name}", upload=found)


@get("/uploads/{upload_id:int}/progress", opt={"permission": "upload"}, sync_to_thread=True)
def upload_progress(request: Request[Any, Any, Any], upload_id: FromPath[int]) -> dict[str, Any]:
    """How far the upload's current pass has read, and its status (polled by the page)."""
    state = console_state(request)
    try:
        found = upload_now(state, upload_id)
    except UploadRefused as error:
        raise _refuse(request, 404, str(error)) from None
    return {"status": found.status, "percent": found.percent}


@post("/uploads/{upload_id:int}/commit", opt={"permission": "upload"}, sync_to_thread=True)
def commit(
    request: Request[Any, Any, Any], upload_id: FromPath[int], data: Annotated[dict[str, str], Form]
) -> Redirect:
    """Write the checked file: whole, or only its valid rows when asked."""
    state, account = acting(request)
    try:
        commit_upload(
            state, upload_id, actor=account.name, valid_only=data.get("valid_only") == "yes"
        )
    except UploadRefused as error:
        raise _refuse(request, 409, str(error), upload=upload_id) from None
    return done(request, f"/uploads/{upload_id}", "Writing the records.")


@post("/uploads/{upload_id:int}/discard", opt={"permission": "upload"}, sync_to_thread=True)
def discard(request: Request[Any, Any, Any], upload_id: FromPath[int]) -> Redirect:
    """Forget an upload that was not committed."""
    state, account = acting(request)
    try:
        discard_upload(state, upload_id, actor=account.name)
    except UploadRefused as error:
        raise _refuse(request, 409, str(error), upload=upload_id) from None
    return done(request, "/uploads", "Upload discarded; nothing was written.")
