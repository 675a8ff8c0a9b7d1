"""Schemathesis against the OpenAPI schema: whatever it sends, the server answers without error.

Every operation gets generated paths, queries and bodies (YAML bodies are random text); the
only property checked is the one the issue asks for, no 5xx (a 504 from a time limit would
count too), plus that every answer is JSON or HTML with a Content-Security-Policy header.
"""

from __future__ import annotations

import warnings

import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from detente.web.app import Limits, create_app

APP = create_app(
    limits=Limits(max_sync_episodes=2_000, max_episodes=5_000, max_tournament_episodes=20, max_samples=16),
    allowed_hosts={"localhost", "testserver", "127.0.0.1"},
)


@schemathesis.serializer("application/yaml")
def _yaml(ctx: object, value: object) -> bytes:
    del ctx
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else str(value).encode()


schema = schemathesis.openapi.from_asgi("/api/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)
def test_no_server_error(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:500])
    assert response.status_code not in (401, 421), "the guard refused the request: nothing was tested"
    assert "content-security-policy" in response.headers
