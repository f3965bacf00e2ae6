"""Console accounts: roles, argon2 password hashes, the password rules, and throttling of
failed sign-ins by account and by address."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, func, insert, select, update

from privacy.store.audit import record_audit, utc_now
from privacy.store.console import ROLES, ConsoleUser, SignInFailure

MIN_PASSWORD_LENGTH = 12
MIN_STRENGTH = 3  # zxcvbn's score, 0 to 4: 3 is "safely unguessable" offline at a slow hash
# Failed sign-ins within the window after which sign-in is refused (429) until it passes.
THROTTLE_WINDOW = timedelta(minutes=15)
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_ADDRESS = 20
NAME_PATTERN = r"[a-z][a-z0-9_.-]{1,63}"

_hasher = PasswordHasher()
# Verified when the account does not exist, so a wrong name costs as long as a wrong password.
_DECOY = _hasher.hash("a decoy password nobody uses")


class AccountError(ValueError):
    """An account cannot be made or changed as asked; the message says why."""


@dataclass(frozen=True)
class Account:
    """A console user as a request sees it."""

    name: str
    role: str
    must_change: bool = False  # the first password, which its maker knew, is still in use


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's list, lower-cased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def password_problem(name: str, password: str) -> str | None:
    """Why ``password`` may not be used for ``name``, or None: too short, a common password
    or one like it, too easy to guess by zxcvbn's estimate (repeats, sequences, words with
    obvious substitutions), or holding the account's name."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    lowered = password.lower()
    if lowered in common_passwords() or lowered.rstrip("0123456789!") in common_passwords():
        return "that password is on the list of common passwords: choose another"
    if len(name) >= 4 and name.lower() in lowered:
        return "a password may not contain the account's name"
    from zxcvbn import zxcvbn

    estimate = zxcvbn(password[:72], user_inputs=[name])  # zxcvbn takes 72 at most
    if estimate["score"] < MIN_STRENGTH:
        warning = estimate["feedback"]["warning"] or "it would be guessed quickly"
        return (
            f"that password is too easy to guess ({warning.rstrip('.')}): a few unrelated "
            "words make a strong one"
        )
    return None


def add_user(
    internal: Engine, name: str, role: str, password: str, *, actor: str, active: bool = True
) -> None:
    """Create the account ``name`` with ``role``; refused for a taken name, an unknown role
    or a password the rules refuse. An account made in the console starts disabled
    (``active=False``): a second admin enables it, so that no admin can make accounts
    whose passwords they know and act as two people."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise AccountError(
            f"{name!r} is not a usable account name: lower-case letters, digits, '_', '.' "
            "or '-', starting with a letter, 2 to 64 characters"
        )
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role; the roles are {', '.join(ROLES)}")
    problem = password_problem(name, password)
    if problem:
        raise AccountError(problem)
    with internal.begin() as connection:
        taken = connection.execute(select(ConsoleUser.name).where(ConsoleUser.name == name)).first()
        if taken is not None:
            raise AccountError(f"there is already an account named {name}")
        connection.execute(
            insert(ConsoleUser).values(
                name=name,
                role=role,
                password_hash=_hasher.hash(password),
                active=int(active),
                must_change=int(not active),
                created_at=utc_now(),
                created_by=actor,
            )
        )
        record_audit(connection, actor, "add user", {"user": name, "role": role, "enabled": active})


def set_active(internal: Engine, name: str, active: bool, *, actor: str) -> None:
    """Disable or enable an account (accounts are never deleted). Enabling is refused to
    the admin who made the account: a second admin vouches for it."""
    with internal.begin() as connection:
        creator = connection.execute(
            select(ConsoleUser.created_by).where(ConsoleUser.name == name)
        ).scalar()
        if active and creator == actor:
            raise AccountError(
                f"{actor} made the account {name} and cannot enable it: another admin must"
            )
        changed = connection.execute(
            update(ConsoleUser).where(ConsoleUser.name == name).values(active=int(active))
        ).rowcount
        if changed != 1:
            raise AccountError(f"there is no account named {name}")
        record_audit(connection, actor, "enable user" if active else "disable user", {"user": name})


def set_role(internal: Engine, name: str, role: str, *, actor: str) -> None:
    """Give an account another role."""
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role; the roles are {', '.join(ROLES)}")
    with internal.begin() as connection:
        creator = connection.execute(
            select(ConsoleUser.created_by).where(ConsoleUser.name == name)
        ).scalar()
        if creator == actor:
            raise AccountError(
                f"{actor} made the account {name} and cannot change its role: another admin must"
            )
        changed = connection.execute(
            update(ConsoleUser).where(ConsoleUser.name == name).values(role=role)
        ).rowcount
        if changed != 1:
            raise AccountError(f"there is no account named {name}")
        record_audit(connection, actor, "change role", {"user": name, "role": role})


def list_users(internal: Engine) -> list[tuple[str, str, bool, str]]:
    """Every account: name, role, whether it may sign in, who made it."""
    with internal.connect() as connection:
        rows = connection.execute(
            select(
                ConsoleUser.name, ConsoleUser.role, ConsoleUser.active, ConsoleUser.created_by
            ).order_by(ConsoleUser.name)
        ).all()
    return [(n, r, bool(a), c) for n, r, a, c in rows]


def throttled(internal: Engine, name: str, address: str) -> bool:
    """Whether sign-in is refused for now: too many recent failures for the account or
    from the address."""
    since = utc_now() - THROTTLE_WINDOW
    with internal.connect() as connection:
        by_account = connection.execute(
            select(func.count())
            .select_from(SignInFailure)
            .where(SignInFailure.account == name[:64], SignInFailure.at >= since)
        ).scalar_one()
        by_address = connection.execute(
            select(func.count())
            .select_from(SignInFailure)
            .where(SignInFailure.address == address[:64], SignInFailure.at >= since)
        ).scalar_one()
    return by_account >= FAILURES_PER_ACCOUNT or by_address >= FAILURES_PER_ADDRESS


def authenticate(internal: Engine, name: str, password: str, address: str) -> Account | None:
    """The account when ``password`` is its own; else None, with the failure recorded
    for throttling and in the audit log (the password itself never is)."""
    with internal.connect() as connection:
        row = connection.execute(
            select(
                ConsoleUser.role,
                ConsoleUser.password_hash,
                ConsoleUser.active,
                ConsoleUser.must_change,
            ).where(ConsoleUser.name == name)
        ).first()
    stored = row.password_hash if row is not None else _DECOY
    try:
        good: bool = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        good = False
    if row is not None and good and row.active:
        with internal.begin() as connection:
            record_audit(connection, name, "sign in", {"address": address})
        return Account(name, row.role, bool(row.must_change))
    with internal.begin() as connection:
        connection.execute(
            insert(SignInFailure).values(account=name[:64], address=address[:64], at=utc_now())
        )
        record_audit(
            connection,
            name[:64] or "(blank)",
            "failed sign-in",
            {"address": address, "why": "disabled" if row is not None and good else "password"},
        )
    return None


def account(internal: Engine, name: str) -> Account | None:
    """The active account ``name``, or None."""
    with internal.connect() as connection:
        row = connection.execute(
            select(ConsoleUser.role, ConsoleUser.must_change).where(
                ConsoleUser.name == name, ConsoleUser.active == 1
            )
        ).first()
    return None if row is None else Account(name, row.role, bool(row.must_change))


def change_password(internal: Engine, name: str, current: str, new: str) -> None:
    """Replace the account's password: the current one must be given, the new one must
    pass the rules and differ from it."""
    with internal.connect() as connection:
        stored = connection.execute(
            select(ConsoleUser.password_hash).where(ConsoleUser.name == name)
        ).scalar()
    try:
        known = stored is not None and _hasher.verify(stored, current)
    except (VerificationError, InvalidHashError):
        known = False
    if not known:
        raise AccountError("the current password is wrong")
    if new == current:
        raise AccountError("the new password must differ from the current one")
    problem = password_problem(name, new)
    if problem:
        raise AccountError(problem)
    with internal.begin() as connection:
        connection.execute(
            update(ConsoleUser)
            .where(ConsoleUser.name == name)
            .values(password_hash=_hasher.hash(new), must_change=0)
        )
        record_audit(connection, name, "change password", {"user": name})
