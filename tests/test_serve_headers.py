"""``portal serve`` itself: every answer the process sends carries each security header
exactly once, uvicorn's own 400 for a malformed request included, and no ``server`` header.

A real server in a subprocess (one worker, and two: the two ways ``portal serve`` starts
uvicorn), spoken to over a raw socket so that nothing tidies the answers up.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from portal.settings import Settings
from portal.web.headers import SECURITY_HEADERS
from tests.served import portal_serve


def exchange(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, list[str]]:
    """Send ``request`` as it is; the status and the header lines of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    return int(head[0].split()[1]), head[1:]


@pytest.fixture(scope="module", params=[1, 2], ids=["one-worker", "two-workers"])
def server(
    request: pytest.FixtureRequest,
    published_city: Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[int]:
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with portal_serve(published_city, request.param, log) as port:
        yield port


def request(line: str) -> bytes:
    return f"{line}\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()


ANSWERS = {
    "page": (request("GET /stops HTTP/1.1"), 200),
    "page again (replayed)": (request("GET /stops HTTP/1.1"), 200),
    "HEAD": (request("HEAD /stops HTTP/1.1"), 200),
    "API": (request("GET /api/v1/releases HTTP/1.1"), 200),
    "not found": (request("GET /nowhere HTTP/1.1"), 404),
    "unknown parameter": (request("GET /stops?utm_source=x HTTP/1.1"), 400),
    "method not allowed": (request("POST /stops HTTP/1.1"), 405),
    "address too long (the app)": (request(f"GET /stops?{'x' * 4000} HTTP/1.1"), 414),
    "malformed request line (uvicorn)": (b"GET /stops HTTP/1.1 and more\r\n\r\n", 400),
    "address too long (uvicorn)": (request(f"GET /stops?{'x' * 70_000} HTTP/1.1"), 400),
    "not HTTP at all (uvicorn)": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
}


@pytest.mark.parametrize("published_city", ["sqlite"], indirect=True)
@pytest.mark.parametrize("what", list(ANSWERS))
def test_every_answer_has_each_security_header_once_and_no_server_header(
    server: int, what: str
) -> None:
    sent, expected = ANSWERS[what]
    status, lines = exchange(server, sent)

    names = [line.split(":", 1)[0].strip().lower() for line in lines]
    assert status == expected
    for name in SECURITY_HEADERS:
        assert names.count(name.lower()) == 1, f"{name} appears {names.count(name.lower())} times"
    assert "server" not in names
