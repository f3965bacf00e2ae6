"""The JSON API against its own OpenAPI schema, with schemathesis: generated requests to
every operation get no 5xx, and every answer (status, content type, headers, body) is one
the schema declares.

The requests go to the app in process; the app's lifespan is run once by Litestar's test
client around the module, so its store is closed after (schemathesis would otherwise keep
the app it started for the rest of the session).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from portal.settings import Settings
from portal.web.app import create_app

EXAMPLES = 30  # per operation: the suite's run stays under half a minute

if TYPE_CHECKING:
    from portal.web.app import Site


def without_lifespan(app: ASGIApp) -> ASGIApp:
    """``app`` for a second client: lifespan events are acknowledged, not passed on."""

    async def serving(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})  # type: ignore[arg-type]
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})  # type: ignore[arg-type]
                return

    return serving


@pytest.fixture(scope="module")
def site(published_city: Settings) -> Iterator[Site]:
    app = create_app(published_city)
    with TestClient(app):
        yield app


def operations(site: Site) -> dict[str, Any]:
    """The schema's operations by path, loaded through the app."""
    schema = schemathesis.openapi.from_asgi("/api/v1/schema/openapi.json", without_lifespan(site))
    found = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        found[operation.path] = operation
    return found


def test_generated_requests_get_answers_the_schema_declares(site: Site) -> None:
    found = operations(site)
    assert sorted(found) == [
        "/api/v1/releases",
        "/api/v1/releases/{release_id}",
        "/api/v1/releases/{release_id}/tables",
        "/api/v1/releases/{release_id}/tables/{name}",
    ]
    for operation in found.values():

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_declared(case: Any) -> None:
            case.call_and_validate()

        answers_as_declared()


def test_real_releases_and_tables_are_answered_as_the_schema_says(site: Site) -> None:
    found = operations(site)
    with TestClient(without_lifespan(site)) as client:
        release = client.get("/api/v1/releases").json()[-1]["id"]
    cases = [
        found["/api/v1/releases"].Case(),
        found["/api/v1/releases/{release_id}"].Case(path_parameters={"release_id": release}),
        found["/api/v1/releases/{release_id}/tables"].Case(path_parameters={"release_id": release}),
        found["/api/v1/releases/{release_id}/tables/{name}"].Case(
            path_parameters={"release_id": release, "name": "stops_by_district"}
        ),
    ]
    for case in cases:
        response = case.call_and_validate()
        assert response.status_code == 200, (case.path, response.text[:300])
