"""A published release's PDF reports, built in the background (seconds per language) so
that the approver's page answers at once; the draft's page shows how far they got. A
draft's report can be read before it is published."""

from __future__ import annotations

import dataclasses
import logging
import threading

from portal.admin.state import ConsoleState
from privacy.release.drafts import draft_content, get_draft
from publishing.catalog import ReleaseInfo, load_catalog
from publishing.i18n import LANGUAGES
from publishing.reports import Report, build_report, store_report

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
            store_report(state.public, catalog, period, render_svgs=render_svgs, language=language)
    except Exception as error:  # the release stands; the report can be built again
        log.exception("the report of release %s failed", release_id[:12])
        state.reports[release_id] = f"failed: {error}"[:300]
        state.audit("console", "report failed", {"release_id": release_id, "why": str(error)[:300]})
        return
    state.reports[release_id] = "built"
    state.audit("console", "report built", {"release_id": release_id, "period": period})


def draft_report(state: ConsoleState, draft_id: str, language: str = "en") -> Report:
    """The report the draft would publish, in ``language``: rendered from the public
    store's catalog with the draft standing for its quarter (nothing is written)."""
    from publishing.svg import render_svgs

    draft = get_draft(state.internal, draft_id)
    content = draft_content(state.internal, draft_id)
    catalog = load_catalog(state.public)
    release_id = content.content_hash()
    standing = ReleaseInfo(
        release_id,
        content.period,
        content.policy_name,
        content.policy_version,
        content.policy_sha256,
        content.policy_text,
        content.budget_statement,
        content.engine_version,
        draft.built_at,
    )
    others = tuple(r for r in catalog.releases if r.id != release_id)
    ordered = tuple(sorted((*others, standing), key=lambda r: (r.period, r.created_at, r.id)))
    with_draft = dataclasses.replace(catalog, releases=ordered, _tables={}, _derived={})
    with_draft._tables[release_id] = {t.name: t for t in content.tables}
    return build_report(with_draft, content.period, render_svgs=render_svgs, language=language)
