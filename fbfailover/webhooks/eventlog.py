"""The live-mode receiver's event log: every kernel of the project subscribes to one receiver over HTTP.

In live mode one ``fbfailover receiver`` process owns the tunnelled port. Each webhook it accepts is kept as it
came (path, headers, exact body) in an ``EventLog``, and kernels read it at ``GET /_fbfailover/events`` with the
one event-stream protocol the workshop sandbox serves at ``/_sandbox/events`` (``fbfailover.eventstream``: the
query, the page, the item encoding, the problems, the 429 past the long-poll caps), so ``StreamSource`` reads both.
Only the account's Basic credentials read it.

The log keeps the latest ``MAX_EVENTS`` (10,000) events and at most ``MAX_BYTES`` (64 MB) of bodies **in
memory**, the oldest dropped first (a reader is told how many it missed); a restart of the receiver process loses
them (kernels then start again from the new log's ids, and their stores dedupe what they saw twice). A waiting
long-poll is woken by the event that answers it, never by polling.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import tornado.web

from fbfailover.background import wake, woken
from fbfailover.eventstream import (
    MAX_WAIT,
    RECEIVER_PATH,
    RETRY_AFTER,
    UNAUTHORIZED,
    LongPolls,
    QueryError,
    basic_credentials,
    encode_item,
    page,
    parse_query,
    problem,
)

__all__ = ["EVENTS_PATH", "MAX_BYTES", "MAX_EVENTS", "MAX_WAIT", "EventLog", "EventsHandler"]

EVENTS_PATH = RECEIVER_PATH
MAX_EVENTS = 10_000
MAX_BYTES = 64 * 1024 * 1024


class EventLog:
    """Webhooks as they came, numbered from 1, the latest ``max_events`` and ``max_bytes`` kept; safe across
    threads (a long-poll waits on its own loop and is woken from whichever thread adds)."""

    def __init__(self, max_events: int = MAX_EVENTS, max_bytes: int = MAX_BYTES):
        #: Names this log: a reader whose cursor belongs to another (a restarted process) starts over.
        self.epoch = uuid.uuid4().hex
        self.max_events, self.max_bytes = max_events, max_bytes
        self._items: collections.deque[tuple[dict[str, Any], int]] = collections.deque()
        self._bytes = 0
        self._last_id = 0
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = set()
        #: The open long-polls, capped in all (one account reads this log); past the cap a reader gets a 429.
        self.polls = LongPolls(per_key=64, total=64)

    @property
    def last_id(self) -> int:
        """The id of the newest event (0 before the first)."""
        return self._last_id

    @property
    def bytes(self) -> int:
        """The bytes of the bodies kept."""
        return self._bytes

    def add(self, path: str, headers: Mapping[str, str], body: bytes, query: str = "",
            received: float | None = None) -> int:
        """Keep one webhook; returns its id.

        Args:
            path: the route it came to; headers: its headers (only those a reader needs are kept);
            body: the exact body bytes; query: the raw query string; received: epoch seconds (default now).
        """
        with self._lock:
            self._last_id += 1
            item = encode_item(self._last_id, path, query, headers, body,
                               time.time() if received is None else received)
            self._items.append((item, len(body)))
            self._bytes += len(body)
            while len(self._items) > self.max_events or (self._bytes > self.max_bytes and len(self._items) > 1):
                self._bytes -= self._items.popleft()[1]
            waiters, self._waiters = self._waiters, set()
        for loop, waiter in waiters:
            loop.call_soon_threadsafe(wake, waiter)
        return self._last_id

    def after(self, cursor: int, limit: int | None = None) -> dict[str, Any]:
        """The page a reader at ``cursor`` gets now: ``{"events", "cursor", "missed", "epoch"}``."""
        with self._lock:
            events = [dict(item) for item, _ in self._items if item["id"] > cursor][:limit]
            oldest = self._items[0][0]["id"] if self._items else self._last_id + 1
        missed = max(0, oldest - cursor - 1) if cursor < self._last_id else 0
        return page(events, cursor, missed, self.epoch)

    def latest(self) -> dict[str, Any]:
        """No events, and the cursor of the newest: where a reader of only what comes next starts."""
        return page([], self._last_id, 0, self.epoch)

    async def wait(self, cursor: int, timeout: float, limit: int | None = None) -> dict[str, Any]:
        """``after()``, waiting up to ``timeout`` real seconds for a first event (woken by ``add``)."""
        deadline = time.monotonic() + min(timeout, MAX_WAIT)
        loop = asyncio.get_running_loop()
        while True:
            waiter = loop.create_future()
            with self._lock:  # registered before looking: an add after the look still wakes it
                self._waiters.add((loop, waiter))
            found = self.after(cursor, limit)
            left = deadline - time.monotonic()
            if found["events"] or left <= 0:
                with self._lock:
                    self._waiters.discard((loop, waiter))
                return found
            try:
                await woken(waiter, left)
            finally:
                with self._lock:
                    self._waiters.discard((loop, waiter))


class EventsHandler(tornado.web.RequestHandler):
    """``GET /_fbfailover/events``: the log after a cursor, long-polled, for the account's credentials only."""

    def initialize(self, log: EventLog, credentials: tuple[str, str] | None) -> None:
        self.log = log
        self.credentials = credentials

    def set_default_headers(self) -> None:
        self.set_header("X-Fbfailover-Receiver", "1")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Stay silent (see ``fbfailover.webhooks.app``)."""

    def _problem(self, status: int, title: str, detail: str, invalid_parameters: list[dict] | None = None) -> None:
        self.set_status(status)
        self.finish(problem(status, title, detail, invalid_parameters))

    def _authorized(self) -> bool:
        given = basic_credentials(self.request.headers.get("Authorization"))
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
            self._problem(401, UNAUTHORIZED, detail)
            return
        try:
            query = parse_query(lambda name: self.get_query_argument(name, None))
        except QueryError as exc:
            self._problem(400, "Bad Request", str(exc), exc.problems)
            return
        if query.after is None:
            self.finish(self.log.latest())
            return
        if query.wait > 0 and not self.log.polls.take("account"):
            self.set_header("Retry-After", str(RETRY_AFTER))
            self._problem(429, "Too Many Requests", f"Too many long-polls are open; ask again in {RETRY_AFTER} s")
            return
        try:
            found = await self.log.wait(query.after, query.wait, query.limit)
        finally:
            if query.wait > 0:
                self.log.polls.give_back("account")
        self.finish(found)
