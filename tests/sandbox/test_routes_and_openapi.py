"""The sandbox's routes (``server.make_app``) and its OpenAPI document (``handlers/openapi.py``) are kept by hand in
two places: this test holds them to each other, on every route and every method, both ways."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import pytest
import tornado.web

from fbfailover.sandbox.core import Core, SandboxSettings
from fbfailover.sandbox.handlers.openapi import document
from fbfailover.sandbox.server import make_app

METHODS = ("get", "post", "put", "delete", "patch")
SAMPLES = {"id": "5f1e0a4c-7d3b-4f5e-9a1b-2c3d4e5f6a7b", "uuid": "5f1e0a4c-7d3b-4f5e-9a1b-2c3d4e5f6a7b",
           "channel": "sms", "api_key": "a1b2c3d4", "route": "status"}


@pytest.fixture(scope="module")
def app() -> Iterator[tornado.web.Application]:
    core = Core.open(":memory:", SandboxSettings(clock="manual"))
    try:
        yield make_app(core)
    finally:
        asyncio.run(core.stop())


def _rules(app: tornado.web.Application) -> list[tuple[re.Pattern[str], type]]:
    """Every route but the catch-all, as (regex, handler class)."""
    rules = [(rule.matcher.regex, rule.target) for rule in app.wildcard_router.rules]
    assert rules[-1][0].pattern.startswith(".*")  # the last one answers 404 for everything else
    return rules[:-1]


def _methods(handler: type) -> set[str]:
    """The HTTP methods a handler class answers (those it defines beyond tornado's default 405)."""
    return {m for m in METHODS if getattr(handler, m) is not getattr(tornado.web.RequestHandler, m)}


def _documented() -> dict[str, set[str]]:
    paths = json.loads(document())["paths"]
    return {path: {m for m in item if m in METHODS} for path, item in paths.items()}


def _filled(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLES[m.group(1)], template)


def _route_of(app: tornado.web.Application, path: str) -> tuple[re.Pattern[str], type] | None:
    return next(((regex, handler) for regex, handler in _rules(app) if regex.fullmatch(path)), None)


def test_every_documented_path_is_routed_to_a_handler_that_answers_its_methods(app) -> None:
    for template, methods in _documented().items():
        found = _route_of(app, _filled(template))
        assert found is not None, f"{template} is documented but not routed"
        assert methods, f"{template} documents no operation"
        assert methods == _methods(found[1]), f"{template}: documented {methods}, answered {_methods(found[1])}"


def test_every_route_is_documented_with_every_method_it_answers(app) -> None:
    documented = _documented()
    for regex, handler in _rules(app):
        # the documented paths this route serves (an earlier route wins: /v2/applications/ping is a ping)
        templates = [t for t in documented if (_route_of(app, _filled(t)) or (None,))[0] is regex]
        assert templates, f"route {regex.pattern} ({handler.__name__}) is not in the OpenAPI document"
        for template in templates:
            assert documented[template] == _methods(handler), (template, handler.__name__)


def test_the_check_tells_a_missing_route_from_a_present_one(app) -> None:
    assert _route_of(app, "/v0.1/dispatch") is not None
    assert _route_of(app, "/v0.1/nowhere") is None
    assert _methods(tornado.web.RequestHandler) == set()
