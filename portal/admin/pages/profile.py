"""The department profile: the one in force, proposals, and their review."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from portal.admin.pages.releases import refused
from portal.admin.pages.render import done, page
from portal.admin.state import acting, console_state
from privacy.profile_review import (
    approve_profile,
    list_proposals,
    propose_profile,
    reject_profile,
)
from privacy.release.drafts import DraftRefused
from publishing.profile import read_profile

Form = Body(media_type=RequestEncodingType.URL_ENCODED)
MAX_PROFILE_CHARACTERS = 200_000


@get("/profile", opt={"permission": "read"}, sync_to_thread=True)
def profile(request: Request[Any, Any, Any]) -> Template:
    """The profile in force, the form to propose a revision, and every proposal."""
    state = console_state(request)
    current = read_profile(state.public)
    return page(
        request,
        "profile.html",
        "Department profile",
        current=current,
        text=current.to_toml() if current is not None else "",
        proposals=list_proposals(state.internal),
    )


@post("/profile/proposals", opt={"permission": "propose_profile"}, sync_to_thread=True)
def propose(request: Request[Any, Any, Any], data: Annotated[dict[str, str], Form]) -> Redirect:
    """Propose a revision; a second person reviews it."""
    state, account = acting(request)
    text = data.get("text", "").replace("\r\n", "\n")
    try:
        if len(text) > MAX_PROFILE_CHARACTERS:
            raise DraftRefused(f"a profile is at most {MAX_PROFILE_CHARACTERS:,} characters")
        proposal = propose_profile(state.internal, state.public, text, actor=account.name)
    except DraftRefused as error:
        raise refused(request, error, "propose profile") from None
    return done(request, "/profile", f"Profile proposal {proposal} kept for review.")


@post(
    "/profile/proposals/{proposal_id:int}/approve",
    opt={"permission": "approve_profile"},
    sync_to_thread=True,
)
def approve(request: Request[Any, Any, Any], proposal_id: FromPath[int]) -> Redirect:
    """Approve someone else's proposal: it becomes the profile in force."""
    state, account = acting(request)
    try:
        revision = approve_profile(state.internal, state.public, proposal_id, actor=account.name)
    except DraftRefused as error:
        raise refused(request, error, "approve profile", proposal=proposal_id) from None
    return done(request, "/profile", f"Revision {revision} of the profile is in force.")


@post(
    "/profile/proposals/{proposal_id:int}/reject",
    opt={"permission": "approve_profile"},
    sync_to_thread=True,
)
def reject(
    request: Request[Any, Any, Any],
    proposal_id: FromPath[int],
    data: Annotated[dict[str, str], Form],
) -> Redirect:
    """Reject a proposal with a reason."""
    state, account = acting(request)
    try:
        reject_profile(
            state.internal, proposal_id, actor=account.name, reason=data.get("reason", "")
        )
    except DraftRefused as error:
        raise refused(request, error, "reject profile", proposal=proposal_id) from None
    return done(request, "/profile", "Proposal rejected.")
