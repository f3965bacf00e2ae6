"""Drafts, the budget preview, approval and publication, corrections."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from portal.admin.errors import Refused, refusal
from portal.admin.pages.render import done, page
from portal.admin.policies import choose_policy, policy_names
from portal.admin.reports import draft_report, start_reports
from portal.admin.state import ConsoleState, acting, console_state
from privacy.release.build import ReleaseRefused, refuse_unfinished
from privacy.release.drafts import (
    DraftRefused,
    build_draft,
    cancel_withdrawal,
    confirm_withdrawal,
    draft_content,
    get_draft,
    list_corrections,
    list_drafts,
    publish_draft,
    reject_draft,
    request_withdrawal,
)
from privacy.release.ledger import ChargeRefused
from privacy.release.periods import PeriodError, Quarter
from privacy.release.plan import ReleasePlan, plan_release
from privacy.release.policy import PolicyError
from publishing.catalog import load_catalog
from publishing.i18n import LANGUAGES
from publishing.reports import ReportError

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
STATUS = {"conflict": 409, "forbidden": 403, "not_found": 404, "invalid": 400}
PERIOD = re.compile(r"[0-9]{4}Q[1-4]", re.ASCII)


def refused(
    request: Request[Any, Any, Any], error: Exception, action: str, **detail: Any
) -> Refused:
    """A workflow refusal as an HTTP refusal, with its audit line."""
    if isinstance(error, DraftRefused):
        status = STATUS[error.kind]
    elif isinstance(error, PolicyError | PeriodError):
        status = 400  # what was asked for is malformed or unknown
    else:
        status = 409  # well asked, but not now (the ledger, a quarter not over)
    return refusal(request, status, str(error), action, **detail)


@get("/", opt={"permission": "read"}, sync_to_thread=True)
def home(request: Request[Any, Any, Any]) -> Template:
    """What awaits a decision, and what this account may do."""
    state = console_state(request)
    drafts = list_drafts(state.internal)
    corrections = [c for c in list_corrections(state.internal) if c.status == "requested"]
    return page(
        request,
        "home.html",
        "Console",
        waiting=[d for d in drafts if d.status == "draft"],
        corrections=corrections,
    )


@get("/releases", opt={"permission": "read"}, sync_to_thread=True)
def releases(request: Request[Any, Any, Any]) -> Template:
    """Published releases (with their notices), every draft, every correction."""
    state = console_state(request)
    catalog = load_catalog(state.public)
    return page(
        request,
        "releases.html",
        "Releases and drafts",
        published=list(reversed(catalog.releases)),
        standing={r.id for r in catalog.current.values()},
        drafts=list_drafts(state.internal),
        corrections=list_corrections(state.internal),
        policies=policy_names(state.policy_dir),
        reports=state.reports,
    )


@get("/releases/plan", opt={"permission": "read"}, sync_to_thread=True)
def plan(
    request: Request[Any, Any, Any],
    period: FromQuery[str] = "",
    policy: FromQuery[str] = "quarterly",
) -> Template:
    """What a release would publish and spend, before anything is charged."""
    state = console_state(request)
    period = period.strip().upper()
    found: ReleasePlan | None = None
    problem = None
    status = 200
    if period:
        try:
            found = _plan(state, period, policy)
        except (PolicyError, PeriodError, ReleaseRefused) as error:
            problem = str(error)
            status = 409 if isinstance(error, ReleaseRefused) else 400
    answer = page(
        request,
        "plan.html",
        "Plan a release",
        period=period,
        policy=policy,
        policies=policy_names(state.policy_dir),
        plan=found,
        problem=problem,
    )
    answer.status_code = status  # the form again, with what is wrong, as a 4xx
    return answer


def _plan(state: ConsoleState, period: str, policy_name: str) -> ReleasePlan:
    if not PERIOD.fullmatch(period):
        raise PeriodError(f"{period!r} is not a quarter: write it as 2025Q3")
    policy = choose_policy(state.policy_dir, policy_name)
    refuse_unfinished(Quarter.parse(period))
    return plan_release(state.internal, state.public, period, policy)


@post("/releases/drafts", opt={"permission": "build"}, sync_to_thread=True)
def build(request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form]) -> Redirect:
    """Build a draft: aggregate, charge, draw; keep it for approval."""
    return _build(request, data, replaces=None)


@post("/releases/{release_id:str}/correct", opt={"permission": "build"}, sync_to_thread=True)
def correct(
    request: Request[Any, Any, Any],
    release_id: FromPath[str],
    data: Annotated[dict[str, str], Form],
) -> Redirect:
    """Build a corrected draft that would supersede the published release."""
    return _build(request, data, replaces=release_id)


def _build(request: Request[Any, Any, Any], data: dict[str, str], replaces: str | None) -> Redirect:
    state, account = acting(request)
    period = data.get("period", "").strip().upper()
    policy_name = data.get("policy", "quarterly")
    try:
        if not PERIOD.fullmatch(period):
            raise PeriodError(f"{period[:40]!r} is not a quarter: write it as 2025Q3")
        period = str(Quarter.parse(period))
        draft = build_draft(
            state.internal,
            state.public,
            period,
            choose_policy(state.policy_dir, policy_name),
            actor=account.name,
            spend_again=data.get("spend_again") == "yes",
            replaces=replaces,
            reason=data.get("reason", ""),
        )
    except (DraftRefused, PolicyError, PeriodError, ReleaseRefused, ChargeRefused) as error:
        raise refused(request, error, "build draft", period=period) from None
    return done(request, f"/releases/drafts/{draft.id}", f"Draft of {period} built.")


@get("/releases/drafts/{draft_id:str}", opt={"permission": "read"}, sync_to_thread=True)
def draft_page(request: Request[Any, Any, Any], draft_id: FromPath[str]) -> Template:
    """A draft's tables (published values and intervals) and its decision."""
    state = console_state(request)
    try:
        draft = get_draft(state.internal, draft_id)
        content = draft_content(state.internal, draft_id)
    except DraftRefused as error:
        raise refused(request, error, "read draft") from None
    corrections = [c for c in list_corrections(state.internal) if c.draft_id == draft_id]
    return page(
        request,
        "draft.html",
        f"Draft of {draft.period}",
        draft=draft,
        content=content,
        correction=corrections[0] if corrections else None,
        report=state.reports.get(draft.release_id or ""),
    )


@post("/releases/drafts/{draft_id:str}/publish", opt={"permission": "approve"}, sync_to_thread=True)
def publish(request: Request[Any, Any, Any], draft_id: FromPath[str]) -> Redirect:
    """Approve and publish a draft someone else built."""
    state, account = acting(request)
    try:
        release_id = publish_draft(state.internal, state.public, draft_id, approver=account.name)
    except DraftRefused as error:
        raise refused(request, error, "publish", draft=draft_id) from None
    if state.build_reports:
        start_reports(state, release_id, get_draft(state.internal, draft_id).period)
    return done(request, f"/releases/drafts/{draft_id}", f"Published as release {release_id[:12]}.")


@post("/releases/drafts/{draft_id:str}/reject", opt={"permission": "approve"}, sync_to_thread=True)
def reject(
    request: Request[Any, Any, Any], draft_id: FromPath[str], data: Annotated[dict[str, str], Form]
) -> Redirect:
    """Reject a draft with a reason; its budget stays spent."""
    state, account = acting(request)
    try:
        reject_draft(state.internal, draft_id, approver=account.name, reason=data.get("reason", ""))
    except DraftRefused as error:
        raise refused(request, error, "reject", draft=draft_id) from None
    return done(request, f"/releases/drafts/{draft_id}", "Draft rejected.")


@post("/releases/{release_id:str}/withdraw", opt={"permission": "withdraw"}, sync_to_thread=True)
def withdraw(
    request: Request[Any, Any, Any],
    release_id: FromPath[str],
    data: Annotated[dict[str, str], Form],
) -> Redirect:
    """Ask for a release to be withdrawn; a second approver confirms."""
    state, account = acting(request)
    try:
        request_withdrawal(
            state.internal,
            state.public,
            release_id,
            actor=account.name,
            reason=data.get("reason", ""),
        )
    except DraftRefused as error:
        raise refused(request, error, "request withdrawal", release_id=release_id) from None
    return done(request, "/releases", "Withdrawal asked for: a second approver must confirm it.")


@post(
    "/corrections/{correction_id:int}/confirm", opt={"permission": "withdraw"}, sync_to_thread=True
)
def confirm(request: Request[Any, Any, Any], correction_id: FromPath[int]) -> Redirect:
    """Confirm someone else's request to withdraw a release."""
    state, account = acting(request)
    try:
        confirm_withdrawal(state.internal, state.public, correction_id, actor=account.name)
    except DraftRefused as error:
        raise refused(request, error, "confirm withdrawal", correction=correction_id) from None
    return done(request, "/releases", "The release is withdrawn; the public site says so.")


@get(
    "/releases/drafts/{draft_id:str}/report.pdf",
    opt={"permission": "read"},
    sync_to_thread=True,
)
def draft_report_pdf(
    request: Request[Any, Any, Any], draft_id: FromPath[str], language: FromQuery[str] = "en"
) -> Response[bytes]:
    """The PDF report the draft would publish (rendered on request, written nowhere)."""
    state = console_state(request)
    if language not in LANGUAGES:
        raise refusal(request, 400, f"no report language {language[:20]!r}", "draft report")
    try:
        report = draft_report(state, draft_id, language)
    except (DraftRefused, ReportError) as error:
        raise refused(request, error, "draft report", draft=draft_id) from None
    return Response(
        report.pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="draft-{draft_id[:12]}-{language}.pdf"'},
    )


@post(
    "/corrections/{correction_id:int}/cancel", opt={"permission": "withdraw"}, sync_to_thread=True
)
def cancel(request: Request[Any, Any, Any], correction_id: FromPath[int]) -> Redirect:
    """Cancel a request to withdraw a release."""
    state, account = acting(request)
    try:
        cancel_withdrawal(state.internal, correction_id, actor=account.name)
    except DraftRefused as error:
        raise refused(request, error, "cancel withdrawal", correction=correction_id) from None
    return done(request, "/releases", "The request to withdraw is cancelled.")
