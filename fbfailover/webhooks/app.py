"""The receiver's HTTP layer: route → parse → verify → classify → store → answer 200.

Routes: ``/webhooks/inbound`` and ``/webhooks/status`` (the application's Inbound and Status URLs),
``/webhooks/inbound-sms`` and ``/webhooks/delivery-receipt`` (the account-level URLs of the tutorial),
``GET /health`` and ``GET /`` (the list of routes). Nothing here prints or logs: the server runs on a
background thread inside a notebook kernel, where any output would land in whichever cell is running.

What each route accepts once a signature secret is set:

- ``/webhooks/inbound`` and ``/webhooks/status`` (Messages and Dispatch, always signed since 2020): only a
  valid HS256 JWT (``signature.verify_signed_webhook``); anything else is answered 401. When the account's
  API key is known, a token whose ``api_key`` claim names another account is answered 401 too.
- ``/webhooks/inbound-sms`` and ``/webhooks/delivery-receipt`` (the account-level URLs): a JWT is checked as
  above (Messages-format callbacks of an unlinked channel land here); an SMS API ``sig`` parameter is checked
  with ``signature.verify_sms_signature``; a failed check is answered 401. An SMS API callback with neither is
  **accepted and marked** ``signature="unverified"`` (the feed flags it): the SMS API signs only when the
  account has signed SMS webhooks enabled (Vonage support switches it on), so refusing unsigned ones would lose
  every inbound SMS and delivery receipt of most accounts, and Vonage would retry them for a day. An account
  that did enable signing sets ``require_sms_signature`` and they are answered 401 instead.

Without a secret nothing is checked: ``signature`` is ``"unchecked"`` (signed) or ``"absent"``.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import tornado.web

from fbfailover.webhooks.events import ROUTES, SENT_AT_HEADER, make_event
from fbfailover.webhooks.signature import (
    DEFAULT_MAX_AGE,
    SMS_SIGNATURE_METHODS,
    SignatureError,
    verify_signed_webhook,
    verify_sms_signature,
)
from fbfailover.webhooks.store import EventStore

__all__ = ["ReceiverState", "make_app"]

UNSIGNED_NOTICE = "accepting unsigned webhooks: no signature secret set, signatures are not checked"
UNVERIFIED_SMS_NOTICE = ("accepted an unsigned SMS API callback, marked unverified: the SMS API signs only when "
                         "signed SMS webhooks are enabled on the account")
SMS_ROUTES = ("/webhooks/inbound-sms", "/webhooks/delivery-receipt")


@dataclass
class ReceiverState:
    """What the handlers share: the store and the signature settings.

    Attributes:
        signature_secret: the account's signature secret, or None (nothing checked).
        max_age: the oldest ``iat`` / SMS ``timestamp`` accepted, in real seconds.
        api_key: the account's API key, when known: a JWT's ``api_key`` claim must equal it.
        sms_signature_methods: the SMS API signature methods accepted.
        require_sms_signature: refuse unsigned SMS API callbacks instead of marking them unverified.
    """

    store: EventStore
    signature_secret: str | None = None
    max_age: float = DEFAULT_MAX_AGE
    notices: list[str] = field(default_factory=list)
    api_key: str | None = None
    sms_signature_methods: tuple[str, ...] = SMS_SIGNATURE_METHODS
    require_sms_signature: bool = False

    def notice(self, text: str) -> None:
        """Record ``text`` once."""
        if text not in self.notices:
            self.notices.append(text)


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
        try:
            body, readable = _parse(self.request), True
        except (ValueError, UnicodeDecodeError):
            body, readable = None, False
        try:  # the signature first: an unsigned request learns nothing about what the receiver parses
            signature, claims = self._signature(body)
        except SignatureError as exc:
            self._reject(401, str(exc))
            return
        if not readable:
            self._reject(400, "body is not JSON")
            return
        event = make_event(self.route, body, signature=signature, claims=claims)
        event.sent_at = _float(self.request.headers.get(SENT_AT_HEADER))
        state.store.add(event)
        self.set_status(200)
        self.finish()

    def _params(self, body: Any) -> dict[str, Any]:
        """The query string and a flat body together: what an SMS API ``sig`` is computed over."""
        params: dict[str, Any] = {k: v[-1].decode("utf-8", "replace")
                                  for k, v in self.request.query_arguments.items()}
        if isinstance(body, dict):
            params.update({k: v for k, v in body.items() if not isinstance(v, (dict, list))})
        return params

    def _signature(self, body: Any) -> tuple[str, dict[str, Any] | None]:
        """Check the webhook's signature as the route and the settings ask (see the module docstring).

        Raises:
            SignatureError: when the webhook must be refused.
        """
        state = self.state
        authorization = self.request.headers.get("Authorization")
        if not state.signature_secret:
            state.notice(UNSIGNED_NOTICE)
            return ("unchecked" if authorization else "absent"), None
        params = self._params(body) if self.route in SMS_ROUTES else {}
        if self.route in SMS_ROUTES and not authorization:
            if "sig" in params:
                verify_sms_signature(params, state.signature_secret, methods=state.sms_signature_methods,
                                     max_age=state.max_age)
                return "verified", None
            if state.require_sms_signature:
                raise SignatureError("unsigned SMS callback: neither an Authorization header nor a sig parameter "
                                     "(signed SMS webhooks are required)")
            state.notice(UNVERIFIED_SMS_NOTICE)
            return "unverified", None
        claims = verify_signed_webhook(authorization, self.request.body, state.signature_secret,
                                       max_age=state.max_age, api_key=state.api_key)
        return "verified", claims


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
