"""Who may do what in the console: one table, read by the guard of every route."""

from __future__ import annotations

from typing import Literal

Permission = Literal[
    "read",
    "own_password",
    "upload",
    "build",
    "approve",
    "withdraw",
    "read_audit",
    "manage_users",
    "propose_profile",
    "approve_profile",
]

# Analysts upload data (and alone read the uploads' reports, which quote refused rows) and
# build drafts (corrections included); approvers approve, reject, publish and withdraw;
# auditors read the ledger and the audit log; admins manage accounts and the department
# profile, and read the audit log. Every role reads the drafts and the ledger.
PERMISSIONS: dict[Permission, frozenset[str]] = {
    "read": frozenset({"analyst", "approver", "auditor", "admin"}),
    "own_password": frozenset({"analyst", "approver", "auditor", "admin"}),
    "upload": frozenset({"analyst"}),
    "build": frozenset({"analyst"}),
    "approve": frozenset({"approver"}),
    "withdraw": frozenset({"approver"}),
    "read_audit": frozenset({"auditor", "admin"}),
    "manage_users": frozenset({"admin"}),
    "propose_profile": frozenset({"admin"}),
    "approve_profile": frozenset({"approver", "admin"}),
}


def allowed(role: str, permission: Permission) -> bool:
    """Whether ``role`` holds ``permission``."""
    return role in PERMISSIONS[permission]
