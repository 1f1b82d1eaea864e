"""The sandbox's description of itself: an OpenAPI 3.1 document served at ``GET /_sandbox/openapi.json``.

Request bodies point at the sandbox's own JSON Schemas (``schemas/*.json``, copied under
``components.schemas`` as ``<file>.<definition>``), so the document and the validation can never disagree on
a field. Rules beyond a schema (``from.type`` must equal ``to.type``, numbers in E.164, ...) are listed in each
operation's description; every error answer is a problem-details JSON body.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ..http import ControlHandler
from ..validation import from_table

__all__ = ["OpenApiHandler", "document"]

_FILES = ("dispatch", "messages_v1", "applications", "control")
_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_JSON = "application/json"


def _schemas() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _FILES:
        raw = resources.files("fbfailover.sandbox").joinpath(f"schemas/{name}.json").read_text(encoding="utf-8")
        text = raw.replace('"#/$defs/', f'"#/components/schemas/{name}.')
        for key, schema in from_table(json.loads(text))["$defs"].items():
            out[f"{name}.{key}"] = schema
    out["Problem"] = {
        "type": "object",
        "required": ["type", "title"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "invalid_parameters": {
                "type": "array",
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "reason": {"type": "string"}}},
            },
        },
    }
    return out


def _op(summary: str, ok: dict[str, str], *, body: str | None = None, auth: list[str] | None = None,
        errors: tuple[int, ...] = (), params: list[dict] | None = None, form: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {}}
    for code, text in ok.items():
        op["responses"][code] = {"description": text}
        if code != "204":
            op["responses"][code]["content"] = {_JSON: {"schema": {"type": "object"}}}
    for code in sorted({*errors, 413}):  # every route has a body limit (``http.BODY_LIMITS``)
        op["responses"][str(code)] = {"description": "problem details", "content": {_JSON: {"schema": _PROBLEM}}}
    if body:
        content = {_JSON: {"schema": {"$ref": f"#/components/schemas/{body}"}}}
        if form:
            content["application/x-www-form-urlencoded"] = {"schema": {"type": "object"}}
        op["requestBody"] = {"required": body not in ("control.recipient",), "content": content}
    elif form:
        op["requestBody"] = {"content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object",
            "properties": {k: {"type": "string"} for k in ("moCallBackUrl", "drCallBackUrl")},
        }}}}
    if auth is not None:
        op["security"] = [{name: []} for name in auth]
    if params:
        op["parameters"] = params
    return op


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}


@cache
def _paths() -> dict[str, Any]:
    sends = ("bearer", "basic")
    send_errors = (400, 401, 413, 415)
    ping = {"get": _op("Health check", {"200": "ok"}, auth=[])}
    control = ["basic"]
    return {
        "/v0.1/dispatch": {"post": _op("Send a failover workflow (Dispatch API)", {"202": "dispatch_uuid"},
                                       body="dispatch.dispatch", auth=list(sends), errors=send_errors)},
        "/beta/workflows": {"post": _op("The developer-preview name of /v0.1/dispatch", {"202": "workflow_uuid"},
                                        body="dispatch.dispatch", auth=list(sends), errors=send_errors)},
        "/v0.1/messages": {"post": _op("Send one message (Messages API v0.1)", {"202": "message_uuid"},
                                       body="dispatch.message_v01", auth=list(sends), errors=send_errors)},
        "/v1/messages": {"post": _op("Send a message, with optional failover (Messages API v1)",
                                     {"202": "message_uuid, workflow_id"}, body="messages_v1.request",
                                     auth=list(sends), errors=(401, 413, 415, 422))},
        "/v2/applications": {
            "get": _op("List applications", {"200": "HAL page"}, auth=["basic"], errors=(400, 401),
                       params=[_query("page_size", "integer"), _query("page", "integer")]),
            "post": _op("Create an application", {"201": "the application (keys.private_key when generated)"},
                        body="applications.application", auth=["basic"], errors=(400, 401, 413, 415)),
        },
        "/v2/applications/{id}": {
            "parameters": [_path("id")],
            "get": _op("Get an application", {"200": "the application"}, auth=["basic"], errors=(401, 404)),
            "put": _op("Update an application", {"200": "the application"}, body="applications.application",
                       auth=["basic"], errors=(400, 401, 404, 413, 415)),
            "delete": _op("Delete an application", {"204": "deleted"}, auth=["basic"], errors=(401, 404)),
        },
        "/account/settings": {"post": _account_settings()},
        "/v0.1/dispatch/ping": ping, "/v0.1/messages/ping": ping, "/v1/messages/ping": ping,
        "/v2/applications/ping": ping,
        "/_sandbox": {"get": _op("Sandbox information", {"200": "clock, timers"}, auth=control, errors=(401,))},
        "/_sandbox/openapi.json": {"get": _op("This document", {"200": "OpenAPI 3.1"}, auth=[])},
        "/_sandbox/clock": {"get": _op("The simulated clock", {"200": "clock"}, auth=[])},
        "/_sandbox/clock/advance": {"post": _op("Move simulated time (workshop: the instructor only)",
                                                {"200": "clock, fired timers"}, body="control.advance",
                                                auth=control, errors=(400, 401, 403, 415))},
        "/_sandbox/recipients": {
            "get": _op("Recipient rules", {"200": "rules"}, auth=control, errors=(401,)),
            "delete": _op("Forget every rule", {"200": "removed"}, auth=control, errors=(401,)),
        },
        "/_sandbox/recipients/{channel}/{id}": {
            "parameters": [_path("channel"), _path("id")],
            "get": _op("One recipient's rule", {"200": "rule"}, auth=control, errors=(400, 401)),
            "put": _op("Decide how a recipient behaves", {"200": "rule"}, body="control.recipient",
                       auth=control, errors=(400, 401, 415)),
            "delete": _op("Forget a rule", {"200": "removed"}, auth=control, errors=(400, 401)),
        },
        "/_sandbox/inbound": {"post": _op("A user writes to a page or number", {"202": "message_uuid, from, to"},
                                          body="control.inbound", auth=control, errors=(400, 401, 415))},
        "/_sandbox/dispatches/{uuid}": {"parameters": [_path("uuid")], "get": _op(
            "Timeline of a dispatch or v1 workflow", {"200": "timeline"}, auth=control, errors=(401, 404))},
        "/_sandbox/messages/{uuid}": {"parameters": [_path("uuid")], "get": _op(
            "One message", {"200": "message"}, auth=control, errors=(401, 404))},
        "/_sandbox/deliveries": {"get": _op(
            "Webhook deliveries and their attempts", {"200": "deliveries"}, auth=control, errors=(400, 401),
            params=[_query("dispatch_uuid"), _query("status"), _query("limit", "integer")])},
        "/_sandbox/events": {"get": _op(
            "This account's mailbox after a cursor (long-poll): the pulled webhooks of a workshop",
            {"200": "events, cursor, missed, epoch"}, auth=control, errors=(400, 401, 429),
            params=[_query("after", "integer"), _query("wait", "number"), _query("limit", "integer")])},
        "/_sandbox/mailbox/{api_key}/{route}": {"parameters": [_path("api_key"), _path("route")], "post": _op(
            "A mailbox address: only the sandbox delivers there, so every request from outside is refused",
            {"403": "refused"}, auth=[], errors=())},
        "/_sandbox/accounts": {"post": _op("A fresh account (workshop mode), with an optional display name",
                                           {"201": "api_key, secrets"}, auth=["workshop"],
                                           errors=(400, 401, 404, 415, 429))},
        "/_sandbox/attendee": {"put": _op("This account's display name on the workshop dashboard",
                                          {"200": "api_key, name"}, auth=control, errors=(400, 401, 415))},
        "/_sandbox/workshop": {"get": _as(_op(
            "The instructor's dashboard page (workshop mode; the token as header or ?token=)", {"200": "HTML page"},
            auth=["workshop"], errors=(401, 404), params=[_query("token")]), "text/html")},
        "/_sandbox/workshop/state": {"get": _op(
            "Every account's activity, stuck attendees first, and the room's summary (the dashboard polls it)",
            {"200": "now, steps, accounts, summary"}, auth=["workshop"], errors=(401, 404),
            params=[_query("token")])},
        "/_sandbox/workshop/state.csv": {"get": _as(_op(
            "The same rows as CSV, to keep after the workshop", {"200": "CSV"}, auth=["workshop"],
            errors=(401, 404), params=[_query("token")]), "text/csv")},
    }


def _as(op: dict[str, Any], media_type: str) -> dict[str, Any]:
    """``op`` with its 200 answer in ``media_type`` (a page, a CSV file) instead of JSON."""
    op["responses"]["200"]["content"] = {media_type: {"schema": {"type": "string"}}}
    return op


def _account_settings() -> dict[str, Any]:
    """The Account API answers 401 and 420 in its own shape, ``{"error-code", "error-code-label"}``."""
    op = _op("Account-level webhook URLs (saved only when they answer 200 OK)", {"200": "the settings"}, form=True,
             auth=["basic", "query"], errors=(400,))
    shape = {"type": "object", "required": ["error-code", "error-code-label"],
             "properties": {"error-code": {"type": "string"}, "error-code-label": {"type": "string"}}}
    for code, text in (("401", "authentication failed"), ("420", "a callback URL did not answer 200 OK")):
        op["responses"][code] = {"description": text, "content": {_JSON: {"schema": shape}}}
    return op


@cache
def _document() -> str:
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "fbfailover sandbox",
            "version": "1",
            "description": "An offline Vonage for the 'Sending a Facebook message with failover' tutorial: the "
                           "Dispatch, Messages v0.1/v1, Applications v2 and Account settings endpoints, plus the "
                           "sandbox's own control endpoints under /_sandbox. Every error is problem-details JSON.",
        },
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (RS256, application key)"},
                "basic": {"type": "http", "scheme": "basic"},
                "query": {"type": "apiKey", "in": "query", "name": "api_key"},
                "workshop": {"type": "apiKey", "in": "header", "name": "X-Workshop-Token"},
            },
        },
    }
    return json.dumps(doc, separators=(",", ":"))


def document() -> str:
    """The OpenAPI document as compact JSON text (built once)."""
    return _document()


class OpenApiHandler(ControlHandler):
    """``GET /_sandbox/openapi.json``: the sandbox's description of itself (credentials in workshop mode only)."""

    def get(self) -> None:
        self.account()  # in workshop mode: an account's Basic credentials first
        self.set_status(200)
        self.finish(document())
