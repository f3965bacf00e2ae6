"""The JSON API against its own OpenAPI schema, with schemathesis: generated requests to
every operation get no 5xx, and every answer (status, content type, headers, body) is one
the schema declares, as ``portal serve`` sends it.

Through a real server over loopback: schemathesis' in-process ASGI client keeps an event
loop thread for the rest of the session, which other tests (a worker forked only when no
other thread runs) would see.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from portal.settings import Settings
from tests.served import portal_serve

EXAMPLES = 30  # per operation: the run stays well under a minute


@pytest.fixture(scope="module")
def origin(published_city: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("api-schema") / "serve.log"
    with portal_serve(published_city, 1, log) as port:
        yield f"http://127.0.0.1:{port}"


def operations(origin: str) -> dict[str, Any]:
    """The schema's operations by path, the schema read from the server."""
    schema = schemathesis.openapi.from_url(f"{origin}/api/v1/schema/openapi.json")
    return {result.ok().path: result.ok() for result in schema.get_all_operations()}


def test_generated_requests_get_answers_the_schema_declares(origin: str) -> None:
    found = operations(origin)
    assert sorted(found) == [
        "/api/v1/areas",
        "/api/v1/releases",
        "/api/v1/releases/latest",
        "/api/v1/releases/latest/{rest}",
        "/api/v1/releases/{release_id}",
        "/api/v1/releases/{release_id}/tables",
        "/api/v1/releases/{release_id}/tables/{name}",
        "/api/v1/series/{name}",
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
            case.call_and_validate(base_url=origin)

        answers_as_declared()


def test_real_releases_and_tables_are_answered_as_the_schema_says(origin: str) -> None:
    found = operations(origin)
    listed = found["/api/v1/releases"].Case().call_and_validate(base_url=origin)
    release = listed.json()[-1]["id"]
    cases = [
        found["/api/v1/releases/{release_id}"].Case(path_parameters={"release_id": release}),
        found["/api/v1/releases/{release_id}/tables"].Case(path_parameters={"release_id": release}),
        found["/api/v1/releases/{release_id}/tables/{name}"].Case(
            path_parameters={"release_id": release, "name": "stops_by_district"}
        ),
        found["/api/v1/series/{name}"].Case(path_parameters={"name": "stops_by_district"}),
    ]
    for case in cases:
        response = case.call_and_validate(base_url=origin)
        assert response.status_code == 200, (case.path, response.text[:300])


def test_each_operation_declares_the_body_it_really_answers(origin: str) -> None:
    """Handlers hand over bytes encoded once and kept; the schema still names each body's
    type, and no handler hides a mismatch behind a type: ignore."""
    with urllib.request.urlopen(f"{origin}/api/v1/schema/openapi.json") as answer:
        schema = json.load(answer)
    for path, methods in schema["paths"].items():
        answers = methods["get"]["responses"]
        if "200" not in answers:
            assert "307" in answers, path  # the latest aliases redirect
            continue
        body = answers["200"]["content"]["application/json"]["schema"]
        assert "$ref" in body or "$ref" in body.get("items", {}), (path, body)
    web = Path(__file__).resolve().parents[1] / "portal" / "web"
    ignored = [p.name for p in web.glob("*.py") if "ignore[return-value]" in p.read_text()]
    assert ignored == []
