"""Property-based tests of every endpoint: no 5xx, no hang, invalid requests get a 4xx problem, valid ones pass.

The strategies live in ``tests/strategies.py`` (driven by the channel table); here each endpoint runs a few
deterministic cases, and every hostile shape (5,000-deep JSON, 3 MB, random bytes, odd content types, broken
and huge ``Authorization`` headers) goes to every route. ``python -m benchmarks.fuzz`` runs many more cases.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.strategies import (
    CASES_IN_TESTS,
    ENDPOINTS,
    HOSTILE_ROUTES,
    HOSTILE_SHAPES,
    Target,
    check_hostile,
    hostile_request,
    run_endpoint,
    start_target,
)

SANDBOX_FAILS: dict[str, str] = {}
# Shapes that are no mistake on a route: the form encodings account settings read, and Authorization on a route
# that authenticates by its X-Workshop-Token instead.
NOT_HOSTILE = {("account-settings", "form-with-json"), ("account-settings", "multipart"),
               *(("sandbox-accounts", s) for s in ("bearer-garbage", "basic-not-base64", "authorization-64kb"))}


def _marked(case_id: str, *values: Any) -> Any:
    reason = SANDBOX_FAILS.get(case_id)
    return pytest.param(*(values or (case_id,)), id=case_id,
                        marks=[pytest.mark.xfail(strict=True, reason=reason)] if reason else [])


@pytest.fixture(scope="module")
def target(key_pair) -> Iterator[Target]:
    server, tgt = start_target(key_pair)
    yield tgt
    tgt.session.close()
    server.stop()


@pytest.mark.parametrize("name", [_marked(name) for name in ENDPOINTS])
def test_endpoint_answers_every_request_properly(target, name):
    counts: dict[str, dict[str, int]] = {}
    run_endpoint(target, name, CASES_IN_TESTS, counts, derandomize=True)
    assert sum(counts[name].values()) >= CASES_IN_TESTS


def test_the_openapi_document_describes_every_route(target):
    doc = target.send("GET", "/_sandbox/openapi.json", auth=target.auth).json()  # workshop mode: credentials
    assert doc["openapi"].startswith("3.1")
    text = json.dumps(doc)
    schemas = doc["components"]["schemas"]
    for ref in {part.split('"')[0] for part in text.split('"$ref": "#/components/schemas/')[1:]}:
        assert ref in schemas, ref
    import jsonschema

    for schema in schemas.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    for path in ("/v0.1/dispatch", "/v1/messages", "/v2/applications/{id}", "/_sandbox/accounts",
                 "/_sandbox/recipients/{channel}/{id}", "/account/settings"):
        assert path in doc["paths"], path
    body = doc["paths"]["/v0.1/dispatch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/dispatch.dispatch"}


@pytest.mark.parametrize(("route", "shape"), [
    _marked(f"{route}-{shape}", route, shape) for route in HOSTILE_ROUTES for shape in HOSTILE_SHAPES
    if (route, shape) not in NOT_HOSTILE])
def test_hostile_requests_get_a_4xx_problem(target, route, shape):
    check_hostile(target, hostile_request(target, route, shape))
