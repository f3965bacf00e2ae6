"""A published release's PDF reports, built in the background (seconds per language) so
that the approver's page answers at once; the draft's page shows how far they got."""

from __future__ import annotations

import logging
import threading

from portal.admin.state import ConsoleState
from publishing.artifacts import write_artifact
from publishing.catalog import load_catalog
from publishing.i18n import LANGUAGES
from publishing.reports import build_report

log = logging.getLogger(__name__)


def start_reports(state: ConsoleState, release_id: str, period: str) -> threading.Thread:
    """Build and store the release's report in every language, in a thread."""
    state.reports[release_id] = "building"
    thread = threading.Thread(
        target=_build, args=(state, release_id, period), name="console-reports", daemon=True
    )
    thread.start()
    return thread


def _build(state: ConsoleState, release_id: str, period: str) -> None:
    from publishing.svg import render_svgs

    try:
        catalog = load_catalog(state.public)
        for language in LANGUAGES:
            report = build_report(catalog, period, render_svgs=render_svgs, language=language)
            write_artifact(
                state.public,
                release_id=report.release_id,
                kind="report",
                filename=report.filename,
                media_type="application/pdf",
                content=report.pdf,
                created_at=catalog.current[period].created_at,
            )
    except Exception as error:  # the release stands; the report can be built again
        log.exception("the report of release %s failed", release_id[:12])
        state.reports[release_id] = f"failed: {error}"[:300]
        state.audit("console", "report failed", {"release_id": release_id, "why": str(error)[:300]})
        return
    state.reports[release_id] = "built"
    state.audit("console", "report built", {"release_id": release_id, "period": period})
