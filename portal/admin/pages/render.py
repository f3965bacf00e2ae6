"""Render a console page with what every page needs: the account, its permissions, and
any message from the step before."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from portal.admin.permissions import PERMISSIONS
from portal.admin.state import signed_in


def page(request: Request[Any, Any, Any], template: str, title: str, **context: Any) -> Template:
    """The template ``template`` with ``context``, the signed-in account and its rights."""
    account = signed_in(request)
    can = {p for p, roles in PERMISSIONS.items() if account is not None and account.role in roles}
    flash = request.session.pop("flash", None) if request.session else None
    return Template(
        template,
        context={"title": title, "account": account, "can": can, "flash": flash} | context,
    )


def done(request: Request[Any, Any, Any], where: str, message: str) -> Redirect:
    """Go to ``where`` (303, so a reload does not send the form again) and say ``message``
    there."""
    request.session["flash"] = message
    return Redirect(where, status_code=303)
