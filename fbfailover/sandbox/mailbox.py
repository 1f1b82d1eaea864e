"""Per-account mailboxes: where webhooks go when the learner's kernel cannot be reached (a workshop sandbox).

A shared sandbox cannot open connections to attendees on Binder, JupyterHub or laptops. So their applications'
webhook URLs are addresses the sandbox owns, ``<sandbox>/_sandbox/mailbox/<api_key>/webhooks/...``, and a webhook
sent there is kept here, exactly as it would have been pushed (its path, its headers with the signed
``Authorization``, its exact body bytes), instead of being sent over HTTP. The attendee's kernel connects *out*
and pulls its own account's items with a cursor (``GET /_sandbox/events?after=N``, long-polling), like
``stripe listen``, then verifies and dedupes them exactly as pushed webhooks.

Items live in the database, so a sandbox restart loses none, and an item is handed out only once committed, so a
cursor never skips one. Each account keeps its latest ``KEPT`` items; older ones are dropped in batches, and a
reader whose cursor fell behind is told how many it missed.

Only the sandbox puts items here (``Webhooks`` delivers to its own mailbox addresses without HTTP): a POST to a
mailbox address from outside is refused (``handlers/mailbox.py``), so every item a reader takes was made by the
sandbox. An item is at most ``MAX_ITEM_BYTES`` (the largest webhook the sandbox makes is a few KB), and all items
together at most ``MAX_TOTAL_BYTES``: past it the oldest items of the account with the most bytes are dropped
(and counted as missed), so the database cannot grow without bound. The wire format of the stream is the one
event-stream protocol (``fbfailover.eventstream``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fbfailover.background import wake, woken
from fbfailover.eventstream import DEFAULT_LIMIT, MAX_WAIT, LongPolls, encode_item, page

if TYPE_CHECKING:
    from .storage import Database

__all__ = ["KEPT", "MAX_ITEM_BYTES", "MAX_TOTAL_BYTES", "MAX_WAIT", "PREFIX", "Mailbox", "route_of"]

PREFIX = "/_sandbox/mailbox/"
KEPT = 10_000  # items kept per account
#: The largest item kept: a webhook of the sandbox is a few KB (a 4,096-character text, escaped, at most ~25 KB).
MAX_ITEM_BYTES = 64 * 1024
#: The bytes of every account's items together; past it the largest mailbox loses its oldest items.
MAX_TOTAL_BYTES = 256 * 1024 * 1024
_PRUNE_EVERY = 500  # items put per account between prunes
_PATH = re.compile(r"/_sandbox/mailbox/([^/]+)(/.*)")


def route_of(url: str) -> tuple[str, str, str] | None:
    """``(api_key, route, query)`` when ``url`` is a mailbox address (any host), else None."""
    parts = urlsplit(url)
    found = _PATH.fullmatch(parts.path)
    return (found.group(1), found.group(2), parts.query) if found else None


class Mailbox:
    """The mailboxes of every account over one database; long-polls wait on the server's loop."""

    def __init__(self, db: Database, *, max_polls: int = 256):
        self.db = db
        db.after_commit.append(self._published)
        self._published_id = self._top()  # every item up to here is committed
        #: Names this database's mailboxes: a reader whose cursor came from another (a sandbox started over on a
        #: new database) starts over instead of waiting for ids this one has not reached.
        self.epoch = db.meta("mailbox_epoch") or uuid.uuid4().hex
        db.set_meta("mailbox_epoch", self.epoch)
        self._touched: set[int] = set()
        self._since_prune: dict[int, int] = {}
        self._waiters: dict[int, dict[asyncio.Future, Callable[[], None]]] = {}  # account -> waiter -> its answer
        self.max_item_bytes, self.max_total_bytes = MAX_ITEM_BYTES, MAX_TOTAL_BYTES
        #: The open long-polls, capped per account and in all (``handlers/mailbox.py`` answers 429 past them).
        self.polls = LongPolls(per_key=8, total=max_polls)
        self._bytes = db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM mailbox").fetchone()[0]

    def put(self, account_id: int, route: str, query: str, headers: dict[str, str], body: bytes) -> int:
        """Keep one item for ``account_id``; it is handed out once the current transaction commits.

        Raises:
            ValueError: the body is over ``max_item_bytes`` (nothing is kept).
        """
        if len(body) > self.max_item_bytes:
            raise ValueError(f"a mailbox item is at most {self.max_item_bytes} bytes (this one has {len(body)})")
        self._bytes += len(body)
        if self._bytes > self.max_total_bytes:
            self._shrink()
        cur = self.db.execute(
            "INSERT INTO mailbox (account_id, route, query, headers, body, created) VALUES (?, ?, ?, ?, ?, ?)",
            (account_id, route, query, json.dumps(headers), body, time.time()),
        )
        self._touched.add(account_id)
        count = self._since_prune[account_id] = self._since_prune.get(account_id, 0) + 1
        if count >= _PRUNE_EVERY:
            self._since_prune[account_id] = 0
            self._prune(account_id)
        return cur.lastrowid or 0

    def _shrink(self) -> None:
        """Drop the oldest items of the account with the most bytes until every mailbox fits in a tenth less."""
        goal = self.max_total_bytes * 9 // 10
        while self._bytes > goal:
            row = self.db.execute(
                "SELECT account_id, SUM(LENGTH(body)) AS size FROM mailbox GROUP BY account_id ORDER BY size DESC "
                "LIMIT 1").fetchone()
            if row is None:
                self._bytes = 0
                return
            account_id = row[0]
            rows = self.db.execute("SELECT id, LENGTH(body) FROM mailbox WHERE account_id=? ORDER BY id LIMIT 100",
                                   (account_id,)).fetchall()
            upto, freed = rows[-1][0], sum(n for _, n in rows)
            self.db.execute("DELETE FROM mailbox WHERE account_id=? AND id<=?", (account_id, upto))
            self.db.execute("INSERT INTO mailbox_dropped (account_id, upto, count) VALUES (?, ?, ?)",
                            (account_id, upto, len(rows)))
            self._bytes -= freed

    def _top(self) -> int:
        return self.db.execute("SELECT MAX(id) FROM mailbox").fetchone()[0] or 0

    def _prune(self, account_id: int) -> None:
        row = self.db.execute(
            "SELECT id FROM mailbox WHERE account_id=? ORDER BY id DESC LIMIT 1 OFFSET ?", (account_id, KEPT)
        ).fetchone()
        if row is None:
            return
        freed = self.db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM mailbox WHERE account_id=? AND id<=?",
                                (account_id, row[0])).fetchone()[0]
        dropped = self.db.execute("DELETE FROM mailbox WHERE account_id=? AND id<=?", (account_id, row[0])).rowcount
        self._bytes -= freed
        self.db.execute("INSERT INTO mailbox_dropped (account_id, upto, count) VALUES (?, ?, ?)",
                        (account_id, row[0], dropped))

    def _published(self) -> None:
        """After a commit: hand out what was put, answering the waiting readers of those accounts in this turn."""
        if not self._touched:
            return
        self._published_id = self._top()  # read back: a commit that failed rolled its items back
        touched, self._touched = self._touched, set()
        for account_id in touched:
            for publish in self._waiters.pop(account_id, {}).values():
                self.db.guarded(publish)

    def since(self, account_id: int, after: int, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
        """The committed items of an account after cursor ``after``, oldest first.

        Returns:
            ``{"events": [...], "cursor": <last id returned, or after>, "missed": <dropped items newer than the
            cursor; counted by whole batches, so at most that many>, "epoch": <names this database's mailboxes>}``.
        """
        rows = self.db.execute(
            "SELECT id, route, query, headers, body, created FROM mailbox WHERE account_id=? AND id>? AND id<=? "
            "ORDER BY id LIMIT ?",
            (account_id, after, self._published_id, limit),
        ).fetchall()
        missed = self.db.execute(
            "SELECT COALESCE(SUM(count), 0) FROM mailbox_dropped WHERE account_id=? AND upto>?", (account_id, after)
        ).fetchone()[0]
        events = [_item(*row) for row in rows]
        return page(events, after, missed, self.epoch)

    def latest(self) -> dict[str, Any]:
        """No items, and the cursor of the newest committed one: where a reader of only what comes next starts."""
        return page([], self._published_id, 0, self.epoch)

    async def wait(self, account_id: int, after: int, timeout: float, answer: Callable[[dict[str, Any]], None],
                   limit: int = DEFAULT_LIMIT) -> None:
        """Call ``answer`` once with ``since()``: at once when it has items, else when the first item is published or
        ``timeout`` real seconds (at most ``MAX_WAIT``) have passed, whichever comes first.

        An item published while this waits is answered by the commit that publishes it, in that commit's own turn
        of the loop; this coroutine itself resumes a turn later, behind everything that turn brings (in a busy
        room, tens of milliseconds: benchmarks/README.md, "Workshop").
        """
        found = self.since(account_id, after, limit)
        if found["events"] or timeout <= 0:
            answer(found)
            return
        waiter = asyncio.get_running_loop().create_future()
        answered = False

        def publish() -> None:
            nonlocal answered
            wake(waiter)
            answer(self.since(account_id, after, limit))
            answered = True

        self._waiters.setdefault(account_id, {})[waiter] = publish
        try:
            await woken(waiter, min(timeout, MAX_WAIT))
        finally:
            self._waiters.get(account_id, {}).pop(waiter, None)
        if not answered:  # its time was up (or the answer raised inside the commit, which logged it)
            answer(self.since(account_id, after, limit))


def _item(item_id: int, route: str, query: str, headers: str, body: bytes, created: float) -> dict[str, Any]:
    return encode_item(item_id, route, query, json.loads(headers), body, created)
