"""The push transport: a tornado route per webhook path, handing each request to the ``Intake``.

Routes: ``/webhooks/inbound`` and ``/webhooks/status`` (the application's Inbound and Status URLs),
``/webhooks/inbound-sms`` and ``/webhooks/delivery-receipt`` (the account-level URLs of the tutorial),
``GET /health``, ``GET /`` (the list of routes) and ``GET /_fbfailover/echo?nonce=N`` (``fbfailover doctor``'s round
trip through the tunnel: it answers the nonce and this receiver's instance id, and stores nothing); with an
``EventLog``, every accepted webhook is also kept as it came and served at ``GET /_fbfailover/events`` to the
kernels that share this receiver (``eventlog.py``). What is accepted is decided in ``intake.py``. Nothing here
prints or logs: the server runs on a background thread inside a notebook kernel, where any output would land in
whichever cell is running.

A webhook body is at most ``MAX_BODY`` bytes (32 KiB: Vonage's largest callbacks, an inbound message with a long
text and its media URLs, are a few KiB). A longer one is answered 413 with problem JSON and nothing of it is kept:
up to ``DISCARD_LIMIT`` times the limit it is read to its end first (the client then reads the answer on a clean
connection); past that, the answer goes as soon as the ``Content-Length`` header says so (or a chunked body passes
it) and the connection is closed: the rest of the body is never read. Every refusal is a problem-details JSON
body (``title``, ``detail``); a refused webhook is never stored.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import tornado.web

from fbfailover.background import BoundedBodyHandler
from fbfailover.webhooks.eventlog import EVENTS_PATH, EventLog, EventsHandler
from fbfailover.webhooks.events import ROUTES
from fbfailover.webhooks.intake import Intake
from fbfailover.webhooks.shared import ECHO_PATH, RECEIVER_HEADER

__all__ = ["MAX_BODY", "MAX_HEADERS", "make_app"]

MAX_BODY = 32 * 1024
"""The largest webhook body a route reads, in bytes (larger ones are answered 413 and the connection closed)."""

DISCARD_LIMIT = 2
"""A body up to this many times ``MAX_BODY`` is read to the end (and thrown away) before its 413, so the client
reads the answer on a clean connection; a longer one is answered at once and the connection closed."""
MAX_HEADERS = 16 * 1024
"""The largest header block the receiver reads, in bytes (a signed webhook's are well under 2 KiB)."""

_TITLES = {400: "Bad Request", 401: "Unauthorized", 413: "Content Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}


class _Base(tornado.web.RequestHandler):
    def initialize(self, intake: Intake) -> None:
        self.intake = intake

    def set_default_headers(self) -> None:
        self.set_header(RECEIVER_HEADER, "1")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Stay silent: a server thread must not write into the notebook (errors are recorded instead)."""

    def write_json(self, status: int, payload: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload))


class WebhookHandler(BoundedBodyHandler, _Base):
    """One webhook route; the same handler serves all four. The body is read as it streams in, up to ``MAX_BODY``."""

    def initialize(self, intake: Intake, route: str = "",  # type: ignore[override]
                   log: EventLog | None = None, max_body: int = MAX_BODY) -> None:
        super().initialize(intake)
        self.route = route
        self.log = log
        self.max_body = max_body

    @property
    def body_limit(self) -> int:
        return self.max_body

    @property
    def discard_limit(self) -> int:
        return DISCARD_LIMIT * self.max_body

    def body_too_large(self, size: int) -> None:
        reason = f"body of {size} bytes or more is over this route's limit of {self.max_body} bytes"
        self.intake.store.reject(self.route, reason, 413)
        self.write_json(413, {"title": _TITLES[413], "detail": reason})

    def get(self) -> None:
        if not self.request.query_arguments:
            # A URL check (the account settings API probes the URL before saving it): answer, record nothing.
            self.write_json(200, {"status": "ok", "route": self.route})
        else:
            self._receive()

    def post(self) -> None:
        self._receive()

    def _receive(self) -> None:
        query = {k: v[-1].decode("utf-8", "replace") for k, v in self.request.query_arguments.items()}
        body = self.request.body = self.kept_body()
        try:
            status, reason = self.intake.receive(self.route, body, self.request.headers,
                                                 method=self.request.method or "POST", query=query)
        except Exception as exc:  # never let tornado log: record and answer 500 (Vonage will retry)
            status, reason = 500, f"receiver error: {type(exc).__name__}: {exc}"
            self.intake.store.reject(self.route, reason, status)
        if status == 200:
            if self.log is not None:  # kept as it came: the subscribing kernels check its signature again
                self.log.add(self.route, self.request.headers, body, self.request.query)
            self.set_status(200)
            self.finish()
            return
        self.write_json(status, {"title": _TITLES.get(status, "Error"), "detail": reason})


class HealthHandler(_Base):
    def get(self) -> None:
        stats = self.intake.store.stats
        self.write_json(200, {
            "status": "ok",
            "signatures": "verified" if self.intake.signature_secret else "not checked",
            "events": stats.accepted, "duplicates": stats.duplicates,
            "rejected": stats.rejected, "dropped": stats.dropped,
        })


# A nonce of the round trip (``ECHO_PATH``) is 1 to 64 letters, digits, ``-`` or ``_``.
_NONCE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class EchoHandler(_Base):
    """``GET /_fbfailover/echo?nonce=N``: the nonce and this receiver's instance id, so a request sent to the public
    URL can be recognised as having reached this very receiver. Nothing is stored; a bad nonce is a 400."""

    def initialize(self, intake: Intake, instance: str = "") -> None:  # type: ignore[override]
        super().initialize(intake)
        self.instance = instance

    def get(self) -> None:
        nonce = self.get_query_argument("nonce", "")
        if not _NONCE.fullmatch(nonce):
            self.write_json(400, {"title": "Bad Request", "detail": "nonce must be 1 to 64 of A-Z a-z 0-9 - _"})
            return
        self.set_header("Cache-Control", "no-store")
        self.write_json(200, {"receiver": "fbfailover", "nonce": nonce, "instance": self.instance})


class IndexHandler(_Base):
    def get(self) -> None:
        self.write_json(200, {"routes": [*ROUTES, "/health"]})


def make_app(intake: Intake, log: EventLog | None = None,
             credentials: tuple[str, str] | None = None) -> tornado.web.Application:
    """The receiver's tornado application over ``intake`` (access log silenced).

    Args:
        intake: where webhooks go. log: keep accepted webhooks there and serve them at ``/_fbfailover/events``.
        credentials: the account's ``(api_key, api_secret)``, the only Basic credentials the events route takes.
    """
    handlers: list[Any] = [(route, WebhookHandler, {"intake": intake, "route": route, "log": log})
                           for route in ROUTES]
    handlers += [(r"/health", HealthHandler, {"intake": intake}), (r"/", IndexHandler, {"intake": intake}),
                 (ECHO_PATH, EchoHandler, {"intake": intake, "instance": secrets.token_hex(8)})]
    if log is not None:
        handlers.append((EVENTS_PATH, EventsHandler, {"log": log, "credentials": credentials}))
    return tornado.web.Application(handlers, log_function=lambda handler: None)
