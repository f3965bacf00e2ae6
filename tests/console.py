"""Helpers for driving the department's console as its users do: each person has their own
browser (a test client with its own cookies), signs in, and sends forms with the CSRF token
the page gave them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, select

from portal.admin.accounts import add_user
from portal.admin.app import CSRF_COOKIE
from portal.admin.state import ConsoleState
from privacy.store.models import AuditEvent

PASSWORD = "correct horse battery staple"
# One account per person the tests need: two approvers make the two-person rules testable.
PEOPLE = {
    "ana": "analyst",
    "abe": "analyst",
    "april": "approver",
    "arthur": "approver",
    "audrey": "auditor",
    "adam": "admin",
    "ada": "admin",
}
# A copy of the shipped policy whose releases spend half a quarter's budget, so that a
# correction can spend the other half.
HALVES = "halves"


def add_people(internal: Engine) -> None:
    """Every account of :data:`PEOPLE`, with :data:`PASSWORD`."""
    for name, role in PEOPLE.items():
        add_user(internal, name, role, PASSWORD, actor="test")


def minneapolis_stops(rows: int) -> bytes:
    """The header and the first ``rows`` rows of the Minneapolis stops excerpt, as a file
    uploaded to the console would hold them."""
    from tests.conftest import FIXTURES

    lines = (FIXTURES / "mpls_stops_2017_excerpt.csv").read_text().splitlines()
    return ("\n".join(lines[: rows + 1]) + "\n").encode()


def write_halves_policy(data_dir: Path) -> None:
    """The department's own policy :data:`HALVES` in ``data_dir/policies``."""
    shipped = Path(__file__).resolve().parents[1] / "privacy" / "policies" / "quarterly.toml"
    text = shipped.read_text().replace('name = "quarterly"', f'name = "{HALVES}"')
    text = text.replace("[budget]\n", "[budget]\nshare = 0.5\n", 1)
    (data_dir / "policies").mkdir(parents=True, exist_ok=True)
    (data_dir / "policies" / f"{HALVES}.toml").write_text(text)


class Person:
    """One person at the console, in a browser of their own: their own cookies, over
    HTTPS (so that Secure cookies are kept), through the one test client of the app."""

    def __init__(self, client: TestClient[Litestar], name: str) -> None:
        self.client, self.name = client, name
        self.cookies = httpx.Cookies()

    @property
    def token(self) -> str:
        """The CSRF token the last page set, as a form carries it."""
        token = self.cookies.get(CSRF_COOKIE)
        if token is None:
            self.get("/login")
            token = self.cookies.get(CSRF_COOKIE)
        assert token is not None
        return token

    def _send(self, method: str, path: str, **options: Any) -> Any:
        self.client.cookies = self.cookies
        try:
            return self.client.request(method, path, follow_redirects=False, **options)
        finally:
            self.cookies = httpx.Cookies(self.client.cookies)
            self.client.cookies = httpx.Cookies()

    def get(self, path: str, **params: Any) -> Any:
        """A page or file."""
        return self._send("GET", path, params=params or None)

    def post(self, path: str, **form: str) -> Any:
        """Send a form with the CSRF token; redirects are not followed."""
        return self._send("POST", path, data={**form, "_csrf_token": self.token})

    def post_raw(self, path: str, form: dict[str, str]) -> Any:
        """Send a form exactly as given (no token added)."""
        return self._send("POST", path, data=form)

    def upload(
        self,
        path: str,
        kind: str,
        mapping: str,
        name: str,
        content: bytes,
        media_type: str = "text/csv",
    ) -> Any:
        """Send the upload form."""
        return self._send(
            "POST",
            path,
            data={"kind": kind, "mapping": mapping, "_csrf_token": self.token},
            files={"file": (name, content, media_type)},
        )

    def sign_in(self, password: str = PASSWORD) -> Any:
        """Sign in with the password."""
        return self.post("/login", name=self.name, password=password)


class Console:
    """The console app behind one test client; :meth:`person` opens a browser."""

    def __init__(self, client: TestClient[Litestar]) -> None:
        self.client = client

    @property
    def state(self) -> ConsoleState:
        """The console's shared state (its stores, its upload worker)."""
        state: ConsoleState = self.client.app.state["console"]
        return state

    def person(self, name: str, *, signed_in: bool = True) -> Person:
        """``name`` in a browser of their own, signed in unless asked not to be."""
        someone = Person(self.client, name)
        if signed_in:
            answer = someone.sign_in()
            assert answer.status_code == 303, answer.text
        return someone


@contextmanager
def console(app: Litestar) -> Iterator[Console]:
    """The app served to a test client (HTTPS, so Secure cookies are kept)."""
    with TestClient(app, base_url="https://console.test") as client:
        yield Console(client)


def alert(answer: Any) -> str:
    """The message of a refusal page."""
    found = re.search(r'role="alert">([^<]*)<', answer.text)
    return found.group(1) if found else ""


def audit_lines(internal: Engine) -> list[tuple[str, str, str]]:
    """(actor, action, detail) of every audit line, oldest first."""
    with internal.connect() as connection:
        return [
            (a, b, c)
            for a, b, c in connection.execute(
                select(AuditEvent.actor, AuditEvent.action, AuditEvent.detail).order_by(
                    AuditEvent.id
                )
            )
        ]


def draft_id(answer: Any) -> str:
    """The draft a build redirected to."""
    location = answer.headers["location"]
    assert location.startswith("/releases/drafts/"), location
    return str(location.rsplit("/", 1)[1])


@contextmanager
def person(desk: Console, name: str, *, signed_in: bool = True) -> Iterator[Person]:
    """``name`` at the console, for the length of a ``with`` block."""
    yield desk.person(name, signed_in=signed_in)
