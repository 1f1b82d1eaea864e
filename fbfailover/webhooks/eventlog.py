"""The live-mode receiver's event log: every kernel of the project subscribes to one receiver over HTTP.

In live mode one ``fbfailover receiver`` process owns the tunnelled port. Each webhook it accepts is kept as it
came (path, headers, exact body) in an ``EventLog``, and kernels read it with the same protocol the shared
workshop sandbox serves at ``/_sandbox/events`` (so ``StreamSource`` reads both)::

    GET /_fbfailover/events?after=<cursor, default 0>&wait=<seconds 0..25, default 0>
    Authorization: Basic base64(api_key:api_secret)          (the account's; else 401 problem JSON)
    200 {"events": [{"id", "path", "headers", "body", "query", "received"}, ...],
         "cursor": <id of the last event returned, or after>, "missed": <events after `after` already dropped>}

It answers at once when events after the cursor exist, else waits up to ``wait`` seconds for one. The log keeps
the latest ``MAX_EVENTS`` (10,000) events **in memory**: a restart of the receiver process loses them (kernels
then start again from the new log's ids, and their stores dedupe what they saw twice).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hmac
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import tornado.web

__all__ = ["EVENTS_PATH", "MAX_EVENTS", "MAX_WAIT", "EventLog", "EventsHandler"]

EVENTS_PATH = "/_fbfailover/events"
MAX_EVENTS = 10_000
MAX_WAIT = 25.0
_KEPT_HEADERS = ("Authorization", "Content-Type", "X-Fbfailover-Sent-At")
_POLL = 0.05  # how often a long-poll looks again: cheap, and simpler than a loop-bound condition


class EventLog:
    """Webhooks as they came, numbered from 1, the latest ``max_events`` kept; safe across threads."""

    def __init__(self, max_events: int = MAX_EVENTS):
        #: Names this log: a reader whose cursor belongs to another (a restarted process) starts over.
        self.epoch = uuid.uuid4().hex
        self.max_events = max_events
        self._items: collections.deque[dict[str, Any]] = collections.deque(maxlen=max_events)
        self._last_id = 0
        self._lock = threading.Lock()

    @property
    def last_id(self) -> int:
        """The id of the newest event (0 before the first)."""
        return self._last_id

    def add(self, path: str, headers: Mapping[str, str], body: bytes, query: str = "",
            received: float | None = None) -> int:
        """Keep one webhook; returns its id.

        Args:
            path: the route it came to; headers: its headers (only those a reader needs are kept);
            body: the exact body bytes; query: the raw query string; received: epoch seconds (default now).
        """
        try:
            text, encoding = body.decode("utf-8"), None
        except UnicodeDecodeError:  # not text: the exact bytes still travel, base64-encoded
            text, encoding = base64.b64encode(body).decode("ascii"), "base64"
        kept = {name: headers[name] for name in _KEPT_HEADERS if headers.get(name) is not None}
        with self._lock:
            self._last_id += 1
            item: dict[str, Any] = {"id": self._last_id, "path": path, "headers": kept, "body": text,
                                    "query": query, "received": time.time() if received is None else received}
            if encoding:
                item["body_encoding"] = encoding
            self._items.append(item)
            return self._last_id

    def after(self, cursor: int) -> dict[str, Any]:
        """The page a reader at ``cursor`` gets now: ``{"events", "cursor", "missed"}``."""
        with self._lock:
            events = [dict(item) for item in self._items if item["id"] > cursor]
            oldest = self._items[0]["id"] if self._items else self._last_id + 1
        missed = max(0, oldest - cursor - 1) if cursor < self._last_id else 0
        return {"events": events, "cursor": events[-1]["id"] if events else cursor, "missed": missed,
                "epoch": self.epoch}


def _basic(header: str) -> tuple[str, str] | None:
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


class EventsHandler(tornado.web.RequestHandler):
    """``GET /_fbfailover/events``: the log after a cursor, long-polled, for the account's credentials only."""

    def initialize(self, log: EventLog, credentials: tuple[str, str] | None) -> None:
        self.log = log
        self.credentials = credentials

    def set_default_headers(self) -> None:
        self.set_header("X-Fbfailover-Receiver", "1")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Stay silent (see ``fbfailover.webhooks.app``)."""

    def _problem(self, status: int, title: str, detail: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish({"title": title, "detail": detail})

    def _authorized(self) -> bool:
        given = _basic(self.request.headers.get("Authorization", ""))
        if self.credentials is None or given is None:
            return False
        key_ok = hmac.compare_digest(given[0].encode(), self.credentials[0].encode())
        secret_ok = hmac.compare_digest(given[1].encode(), self.credentials[1].encode())
        return key_ok and secret_ok

    async def get(self) -> None:
        if not self._authorized():
            self.set_header("WWW-Authenticate", 'Basic realm="fbfailover receiver"')
            detail = ("send the account's API key and secret with Basic authentication" if self.credentials
                      else "this receiver was started without the account's API key and secret")
            self._problem(401, "Unauthorized", detail)
            return
        try:
            after = int(self.get_query_argument("after", "0"))
            wait = float(self.get_query_argument("wait", "0"))
        except ValueError:
            self._problem(400, "Bad Request", "after must be an integer and wait a number of seconds")
            return
        if after < 0 or not 0 <= wait <= MAX_WAIT:
            self._problem(400, "Bad Request", f"after must be 0 or more and wait between 0 and {MAX_WAIT:g} s")
            return
        deadline = time.monotonic() + wait
        page = self.log.after(after)
        while not page["events"] and time.monotonic() < deadline:
            await asyncio.sleep(_POLL)
            page = self.log.after(after)
        self.set_header("Content-Type", "application/json")
        self.finish(page)
