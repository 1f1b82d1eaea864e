"""The receiver's HTTP layer: route → parse → verify → classify → store → answer 200.

Routes: ``/webhooks/inbound`` and ``/webhooks/status`` (the application's Inbound and Status URLs),
``/webhooks/inbound-sms`` and ``/webhooks/delivery-receipt`` (the account-level URLs of the tutorial),
``GET /health`` and ``GET /`` (the list of routes). Nothing here prints or logs: the server runs on a
background thread inside a notebook kernel, where any output would land in whichever cell is running.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import tornado.web

from fbfailover.webhooks.events import ROUTES, SENT_AT_HEADER, make_event
from fbfailover.webhooks.signature import DEFAULT_MAX_AGE, SignatureError, verify_signed_webhook
from fbfailover.webhooks.store import EventStore

__all__ = ["ReceiverState", "make_app"]

UNSIGNED_NOTICE = "accepting unsigned webhooks: no signature secret set, signatures are not checked"


@dataclass
class ReceiverState:
    """What the handlers share: the store, the signature secret (or None) and the ``iat`` window."""

    store: EventStore
    signature_secret: str | None = None
    max_age: float = DEFAULT_MAX_AGE
    notices: list[str] = field(default_factory=list)


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _parse(request: Any) -> Any:
    if request.method == "GET":
        return {k: v[-1].decode("utf-8", "replace") for k, v in request.query_arguments.items()}
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    raw = request.body
    if content_type == "application/x-www-form-urlencoded":
        pairs = urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
        return dict(pairs)
    if not raw.strip():
        return {}
    return json.loads(raw)


class _Base(tornado.web.RequestHandler):
    def initialize(self, state: ReceiverState) -> None:
        self.state = state

    def set_default_headers(self) -> None:
        self.set_header("X-Fbfailover-Receiver", "1")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Stay silent: a server thread must not write into the notebook (errors are recorded instead)."""

    def write_json(self, status: int, payload: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))


class WebhookHandler(_Base):
    """One webhook route; the same handler serves all four."""

    def initialize(self, state: ReceiverState, route: str = "") -> None:  # type: ignore[override]
        super().initialize(state)
        self.route = route

    def get(self) -> None:
        if not self.request.query_arguments:
            # A URL check (the account settings API probes the URL before saving it): answer, record nothing.
            self.write_json(200, {"status": "ok", "route": self.route})
            return
        self._receive()

    def post(self) -> None:
        self._receive()

    def _reject(self, status: int, reason: str) -> None:
        self.state.store.reject(self.route, reason, status)
        title = {400: "Bad Request", 401: "Unauthorized"}.get(status, "Error")
        self.write_json(status, {"title": title, "detail": reason})

    def _receive(self) -> None:
        try:
            self._receive_checked()
        except Exception as exc:  # never let tornado log: record and answer 500 (Vonage will retry)
            self._reject(500, f"receiver error: {type(exc).__name__}: {exc}")

    def _receive_checked(self) -> None:
        state = self.state
        authorization = self.request.headers.get("Authorization")
        claims: dict[str, Any] | None = None
        if state.signature_secret:
            try:
                claims = verify_signed_webhook(authorization, self.request.body, state.signature_secret,
                                               max_age=state.max_age)
            except SignatureError as exc:
                self._reject(401, str(exc))
                return
            signature = "verified"
        else:
            signature = "unchecked" if authorization else "absent"
            if not state.notices:
                state.notices.append(UNSIGNED_NOTICE)
        try:
            body = _parse(self.request)
        except (ValueError, UnicodeDecodeError):
            self._reject(400, "body is not JSON")
            return
        event = make_event(self.route, body, signature=signature, claims=claims)
        event.sent_at = _float(self.request.headers.get(SENT_AT_HEADER))
        state.store.add(event)
        self.set_status(200)
        self.finish()


class HealthHandler(_Base):
    def get(self) -> None:
        stats = self.state.store.stats
        self.write_json(200, {
            "status": "ok",
            "signatures": "verified" if self.state.signature_secret else "not checked",
            "events": stats.accepted, "duplicates": stats.duplicates,
            "rejected": stats.rejected, "dropped": stats.dropped,
        })


class IndexHandler(_Base):
    def get(self) -> None:
        self.write_json(200, {"routes": [*ROUTES, "/health"]})


def make_app(state: ReceiverState) -> tornado.web.Application:
    """The receiver's tornado application over ``state`` (access log silenced)."""
    handlers: list[Any] = [(route, WebhookHandler, {"state": state, "route": route}) for route in ROUTES]
    handlers += [(r"/health", HealthHandler, {"state": state}), (r"/", IndexHandler, {"state": state})]
    return tornado.web.Application(handlers, log_function=lambda handler: None)
