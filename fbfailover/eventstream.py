"""The one event-stream protocol: how a kernel pulls its webhooks from a server, over plain HTTP long-polls.

Two servers speak it, each over a store of its own: the workshop (or project) sandbox's mailboxes
(``GET /_sandbox/events``, kept in SQLite, ``sandbox/handlers/mailbox.py``) and the live-mode receiver's in-memory
``EventLog`` (``GET /_fbfailover/events``, ``webhooks/eventlog.py``). One client reads both: ``StreamSource``
(``webhooks/stream.py``). Everything they must agree on is here, and nothing else: no I/O, no server.

::

    GET <path>?after=<cursor | latest, default 0>&wait=<seconds 0..25, default 0>&limit=<1..500, default 500>
    Authorization: Basic base64(api_key:api_secret)
    200 {"events": [{"id", "path", "query", "headers", "body", "body_encoding", "received"}, ...],
         "cursor": <id of the last event returned, or after>, "missed": <events after the cursor already dropped>,
         "epoch": <names the server's log: a cursor from another one starts over>}

* ``after=latest`` answers at once with no events and the cursor of the newest one.
* A request that is not this is answered with a problem JSON body (RFC 9457: ``type``, ``title``, ``detail``,
  ``instance``; ``invalid_parameters`` for a 400): 400 for a bad query (``wait`` that is not a finite number in
  0..``MAX_WAIT``, a cursor that is not a whole number in 0..2^63-1), 401 ``Unauthorized`` without the account's
  Basic credentials, 429 with ``Retry-After`` when too many long-polls are open already.
* ``body_encoding`` is always present: ``utf-8`` (``body`` is the text) or ``base64`` (``body`` is the bytes,
  base64-encoded), so the exact bytes a signature covers always travel.
* A sandbox seals each item it hands out: ``seal`` is the HMAC-SHA256, keyed with the account's signature secret,
  of the log's epoch, the item's id, path, query and exact body. Only the sandbox puts items in a mailbox, and a
  reader of a sandbox that knows the secret takes only sealed items (``sealed``), so an item that reached a
  mailbox any other way is refused by the kernel too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fbfailover.errors import FbfailoverError

__all__ = [
    "DEFAULT_LIMIT",
    "KEPT_HEADERS",
    "LATEST",
    "MAX_CURSOR",
    "MAX_WAIT",
    "PROBLEM_TYPE",
    "RECEIVER_PATH",
    "RETRY_AFTER",
    "SANDBOX_PATH",
    "UNAUTHORIZED",
    "LongPolls",
    "Query",
    "QueryError",
    "basic_credentials",
    "decode_body",
    "encode_item",
    "page",
    "parse_query",
    "problem",
    "seal",
    "sealed",
]

SANDBOX_PATH = "/_sandbox/events"
RECEIVER_PATH = "/_fbfailover/events"
#: Real seconds one long-poll may wait; a larger ``wait`` is a 400 (never quietly shortened).
MAX_WAIT = 25.0
#: The largest cursor: SQLite's and any reader's integers stop at 2^63-1, so a larger one is a 400.
MAX_CURSOR = 2**63 - 1
DEFAULT_LIMIT = 500
#: ``after=latest``: only what comes next.
LATEST = "latest"
#: The headers an item keeps: what a signature check and a reader need, nothing else.
KEPT_HEADERS = ("Authorization", "Content-Type", "User-Agent", "X-Fbfailover-Sent-At")
#: Seconds a reader refused with 429 (too many open long-polls) waits before it asks again.
RETRY_AFTER = 2
UNAUTHORIZED = "Unauthorized"
#: RFC 9457's ``about:blank``: the problem is what the status says; ``title`` and ``detail`` say the rest.
PROBLEM_TYPE = "about:blank"


class QueryError(FbfailoverError, ValueError):
    """A query this protocol refuses: ``problems`` are ``{"name", "reason"}`` entries for a 400."""

    def __init__(self, problems: list[dict[str, str]]):
        super().__init__("; ".join(f"{p['name']} {p['reason']}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Query:
    """A parsed query: ``after`` is a cursor, or None for ``after=latest``."""

    after: int | None
    wait: float
    limit: int


def parse_query(arg: Callable[[str], str | None]) -> Query:
    """Parse ``after``, ``wait`` and ``limit`` from ``arg(name)`` (the raw value, None or "" when absent).

    Raises:
        QueryError: one problem per bad argument.
    """
    problems: list[dict[str, str]] = []
    raw_after = (arg("after") or "").strip()
    after: int | None = 0
    if raw_after == LATEST:
        after = None
    elif raw_after:
        after = _whole(raw_after, "after", 0, MAX_CURSOR, problems, "or the word latest")
    wait = 0.0
    raw_wait = (arg("wait") or "").strip()
    if raw_wait:
        try:
            wait = float(raw_wait)
        except ValueError:
            wait = math.nan
        if not (math.isfinite(wait) and 0 <= wait <= MAX_WAIT):  # NaN and the infinities fail here too
            problems.append({"name": "wait", "reason": f"must be a number of seconds from 0 to {MAX_WAIT:g}"})
            wait = 0.0
    raw_limit = (arg("limit") or "").strip()
    limit = _whole(raw_limit, "limit", 1, DEFAULT_LIMIT, problems) if raw_limit else DEFAULT_LIMIT
    if problems:
        raise QueryError(problems)
    return Query(after, wait, limit or DEFAULT_LIMIT)


def _whole(raw: str, name: str, low: int, high: int, problems: list, extra: str = "") -> int:
    # At most 19 digits before int(): a cursor of a million digits costs nothing to refuse.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(high))) or not low <= int(raw) <= high:
        problems.append({"name": name, "reason": f"must be a whole number from {low} to {high}"
                         + (f", {extra}" if extra else "")})
        return low
    return int(raw)


def encode_item(item_id: int, path: str, query: str, headers: Mapping[str, str], body: bytes,
                received: float) -> dict[str, Any]:
    """One event as the page carries it; only ``KEPT_HEADERS`` are kept."""
    try:
        text, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(body).decode("ascii"), "base64"
    kept = {name: headers[name] for name in KEPT_HEADERS if headers.get(name) is not None}
    return {"id": item_id, "path": path, "query": query, "headers": kept, "body": text,
            "body_encoding": encoding, "received": received}


def decode_body(item: Mapping[str, Any]) -> bytes:
    """The exact body bytes of an event from a page."""
    body = item.get("body") or ""
    return base64.b64decode(body) if item.get("body_encoding") == "base64" else str(body).encode("utf-8")


def seal(secret: str, epoch: str, item: Mapping[str, Any]) -> str:
    """The seal of an item of the log ``epoch``: what only a holder of the account's ``secret`` can make."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    for part in (epoch, str(item.get("id")), str(item.get("path")), str(item.get("query") or "")):
        mac.update(part.encode("utf-8") + b"\n")
    mac.update(decode_body(item))
    return mac.hexdigest()


def sealed(secret: str, epoch: str, item: Mapping[str, Any]) -> bool:
    """Whether ``item`` carries the right seal (compared in constant time)."""
    given = item.get("seal")
    return isinstance(given, str) and hmac.compare_digest(given, seal(secret, epoch, item))


def page(events: list[dict[str, Any]], after: int, missed: int, epoch: str) -> dict[str, Any]:
    """The answer to a read at cursor ``after``."""
    return {"events": events, "cursor": events[-1]["id"] if events else after, "missed": missed, "epoch": epoch}


def problem(status: int, title: str, detail: str, invalid_parameters: list[dict] | None = None) -> dict[str, Any]:
    """A problem JSON body of this protocol."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE, "title": title, "detail": detail, "instance": uuid.uuid4().hex,
                            "status": status}
    if invalid_parameters is not None:
        body["invalid_parameters"] = invalid_parameters
    return body


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` of an ``Authorization: Basic`` header, or None when it is not well-formed Basic.

    The one parser of the project's servers: the sandbox's authentication and both event streams use it.
    """
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


class LongPolls:
    """How many long-polls may wait at once, per account and in all; a reader past either gets a 429.

    Args:
        per_key: open long-polls per account (a kernel holds one; a few notebooks of one attendee, a few).
        total: open long-polls in all (each holds a connection, so a file descriptor).
    """

    def __init__(self, per_key: int = 8, total: int = 256):
        self.per_key, self.total = per_key, total
        self._open: dict[Any, int] = {}
        self._all = 0

    def take(self, key: Any) -> bool:
        """Take a slot for ``key``; False when none is free (answer 429 with ``Retry-After``)."""
        if self._all >= self.total or self._open.get(key, 0) >= self.per_key:
            return False
        self._open[key] = self._open.get(key, 0) + 1
        self._all += 1
        return True

    def give_back(self, key: Any) -> None:
        left = self._open.get(key, 0) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)
        self._all = max(0, self._all - 1)

    @property
    def open(self) -> int:
        return self._all
