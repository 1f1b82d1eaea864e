"""The simulation's rows: dispatch and message documents, timers and webhook deliveries.

They change many times a second, so writes are buffered in memory and handed to the connection in one
``executemany`` per table when the database commits (``Database.before_commit``): a document changed several
times in between is written once, and a timer added and removed in between (most status steps take a few real
milliseconds) is never written at all. Every read is served from memory or from the same connection on the same
thread, so nothing ever waits for a writer: documents of work in progress are kept in memory until they finish,
and listings first hand the buffered rows to the connection.

Bounded in memory: the documents of dispatches and messages in progress (``DOCS_KEPT`` at most), the
deliveries still pending, and the latest ``UNSENT_KEPT`` webhooks per account that had no URL to go to (those
are never written: there is nothing to resume, and writing them was half of the database's work when no webhook
URL is set).
"""

from __future__ import annotations

import json
from collections import deque
from typing import TYPE_CHECKING, Any

from .storage import dumps

if TYPE_CHECKING:
    from .storage import Database

__all__ = ["UNSENT_KEPT", "Records"]

UNSENT_KEPT = 1000
DOCS_KEPT = 20_000  # documents kept in memory at most (work in progress, and finished ones changed late)

_UPSERT = {
    "dispatches": "INSERT INTO dispatches VALUES (?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET doc=excluded.doc",
    "messages": "INSERT INTO messages VALUES (?, ?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET doc=excluded.doc",
}


class Records:
    """Documents, timers and deliveries over one ``Database``; registers its flush with the database's commit."""

    def __init__(self, db: Database):
        self.db = db
        db.before_commit.append(self.flush)
        self._docs: dict[tuple[str, str], dict] = {}  # (table, uuid) -> document of work in progress
        self._dirty: dict[tuple[str, str], dict] = {}  # written since the last flush
        self._finished: list[tuple[str, str]] = []  # to drop from memory once written
        self._new_timers: dict[int, tuple[int, float, str, str, dict]] = {}
        self._dropped_timers: list[int] = []
        self._new_deliveries: dict[int, tuple[int, dict, bytes]] = {}
        self._changed_deliveries: dict[int, dict] = {}
        self._pending: dict[int, tuple[int, dict, bytes]] = {}  # deliveries still to be attempted
        self._unsent: dict[int, deque[tuple[int, dict, dict]]] = {}
        self._next_timer = self._next_id("timers")
        self._next_delivery = self._next_id("deliveries")
        for i, account_id, doc, body in db.execute(
            "SELECT id, account_id, doc, body FROM deliveries WHERE status='pending'"
        ):
            self._pending[i] = (account_id, json.loads(doc), body)

    def _next_id(self, table: str) -> int:
        seq = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name=?", (table,)).fetchone()
        top = self.db.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0]  # a fixed table name
        return max(seq[0] if seq else 0, top or 0) + 1

    def flush(self) -> None:
        """Hand every buffered write to the connection (inside its open transaction)."""
        db = self.db
        if self._dirty:
            docs = [(key, doc) for key, doc in self._dirty.items()]
            self._dirty = {}
            dispatches = [(uuid, d["account_id"], dumps(d)) for (t, uuid), d in docs if t == "dispatches"]
            messages = [(uuid, d["account_id"], d.get("dispatch_uuid"), dumps(d))
                        for (t, uuid), d in docs if t == "messages"]
            if dispatches:
                db.executemany(_UPSERT["dispatches"], dispatches)
            if messages:
                db.executemany(_UPSERT["messages"], messages)
        if self._finished:
            for key in self._finished:
                self._docs.pop(key, None)
            self._finished = []
        if self._new_timers:
            rows = [(i, due, kind, ref, dumps(data)) for i, due, kind, ref, data in self._new_timers.values()]
            self._new_timers = {}
            db.executemany("INSERT INTO timers (id, due, kind, ref, data) VALUES (?, ?, ?, ?, ?)", rows)
        if self._dropped_timers:
            rows = [(i,) for i in self._dropped_timers]
            self._dropped_timers = []
            db.executemany("DELETE FROM timers WHERE id=?", rows)
        if self._new_deliveries:
            rows = [(i, a, doc.get("dispatch_uuid"), doc.get("message_uuid"), doc["status"], dumps(doc), body)
                    for i, (a, doc, body) in self._new_deliveries.items()]
            self._new_deliveries = {}
            db.executemany(
                "INSERT INTO deliveries (id, account_id, dispatch_uuid, message_uuid, status, doc, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        if self._changed_deliveries:
            rows = [(doc["status"], dumps(doc), i) for i, doc in self._changed_deliveries.items()]
            self._changed_deliveries = {}
            db.executemany("UPDATE deliveries SET status=?, doc=? WHERE id=?", rows)

    # -- dispatches and messages (documents keyed by uuid) ------------------------------------------------
    def put_dispatch(self, doc: dict) -> None:
        """Write a dispatch document; the caller owns ``doc`` and must put it again after changing it."""
        self._put("dispatches", doc)

    def put_message(self, doc: dict) -> None:
        """Write a message document; as for dispatches, put it again after every change."""
        self._put("messages", doc)

    def _put(self, table: str, doc: dict) -> None:
        key = (table, doc["uuid"])
        docs = self._docs
        docs.pop(key, None)  # to the end: the least recently written go first
        docs[key] = self._dirty[key] = doc
        if len(docs) > DOCS_KEPT:
            for old in list(docs)[: DOCS_KEPT // 2]:
                del docs[old]  # a read finds them in the write buffer or the database

    def dispatch(self, uuid: str) -> dict | None:
        return self._document("dispatches", uuid)

    def message(self, uuid: str) -> dict | None:
        return self._document("messages", uuid)

    def _document(self, table: str, uuid: str) -> dict | None:
        key = (table, uuid)
        doc = self._docs.get(key) or self._dirty.get(key)
        if doc is None:
            row = self.db.execute(f"SELECT doc FROM {table} WHERE uuid=?", (uuid,)).fetchone()  # fixed names
            doc = json.loads(row[0]) if row else None
        return doc

    def finished(self, dispatch_uuid: str, message_uuids: list[str]) -> None:
        """A dispatch and its messages are done: keep them in memory only until they are written."""
        self._finished.append(("dispatches", dispatch_uuid))
        self._finished.extend(("messages", uuid) for uuid in message_uuids)

    def messages_of(self, dispatch_uuid: str) -> list[dict]:
        """The messages of a dispatch or workflow in item order."""
        dispatch = self.dispatch(dispatch_uuid)
        found = [self.message(uuid) for uuid in dispatch["messages"]] if dispatch else []
        return sorted((m for m in found if m is not None), key=lambda m: (m.get("item") or 0, m["created"]))

    # -- timers -------------------------------------------------------------------------------------------
    def add_timer(self, due: float, kind: str, ref: str, data: dict) -> int:
        timer_id = self._next_timer
        self._next_timer += 1
        self._new_timers[timer_id] = (timer_id, due, kind, ref, data)
        return timer_id

    def delete_timer(self, timer_id: int) -> None:
        if self._new_timers.pop(timer_id, None) is None:
            self._dropped_timers.append(timer_id)

    def timers(self) -> list[tuple[int, float, str, str, dict]]:
        """Every timer, earliest first (read once, at start)."""
        self.flush()
        rows = self.db.execute("SELECT id, due, kind, ref, data FROM timers ORDER BY due, id").fetchall()
        return [(i, d, k, r, json.loads(x)) for i, d, k, r, x in rows]

    # -- webhook deliveries -------------------------------------------------------------------------------
    def add_delivery(self, account_id: int, doc: dict, body: bytes) -> int:
        delivery_id = self._next_delivery
        self._next_delivery += 1
        self._new_deliveries[delivery_id] = self._pending[delivery_id] = (account_id, doc, body)
        return delivery_id

    def add_unsent(self, account_id: int, doc: dict, body: dict) -> int:
        """Record a webhook that had no URL (``status: no_url``), in memory only; ``body`` must not change."""
        delivery_id = self._next_delivery
        self._next_delivery += 1
        kept = self._unsent.get(account_id)
        if kept is None:
            kept = self._unsent[account_id] = deque(maxlen=UNSENT_KEPT)
        kept.append((delivery_id, doc, body))
        return delivery_id

    def delivery(self, delivery_id: int) -> tuple[dict, bytes] | None:
        """A pending delivery with its body (attempts only concern pending ones), else None."""
        row = self._pending.get(delivery_id)
        if row is None:
            return None
        return {**row[1], "id": delivery_id, "account_id": row[0]}, row[2]

    def update_delivery(self, delivery_id: int, doc: dict) -> None:
        """Store a delivery's new state; one that is no longer ``pending`` leaves memory once written."""
        new = self._new_deliveries.get(delivery_id)
        if new is not None:
            self._new_deliveries[delivery_id] = (new[0], doc, new[2])
        else:
            self._changed_deliveries[delivery_id] = doc
        pending = self._pending.get(delivery_id)
        if pending is not None:
            if doc["status"] == "pending":
                self._pending[delivery_id] = (pending[0], doc, pending[2])
            else:
                del self._pending[delivery_id]

    def pending_deliveries(self) -> list[int]:
        """Ids of every delivery still to be attempted."""
        return sorted(self._pending)

    def deliveries(self, account_id: int, *, dispatch_uuid: str | None = None, status: str | None = None,
                   limit: int = 500) -> list[tuple[dict, bytes]]:
        """The latest ``limit`` deliveries of an account (oldest first), ``no_url`` ones included."""
        self.flush()
        sql, args = "SELECT id, doc, body FROM deliveries WHERE account_id=?", [account_id]
        if dispatch_uuid:
            sql += " AND dispatch_uuid=?"
            args.append(dispatch_uuid)
        if status:
            sql += " AND status=?"
            args.append(status)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        rows = self.db.execute(sql, args).fetchall()
        found: list[tuple[dict, Any]] = [({**json.loads(d), "id": i}, b) for i, d, b in reversed(rows)]
        unsent = [
            ({**doc, "id": i}, dumps(body).encode("utf-8"))
            for i, doc, body in self._unsent.get(account_id, ())
            if (not dispatch_uuid or doc["dispatch_uuid"] == dispatch_uuid) and (not status or status == "no_url")
        ]
        if unsent:
            found = sorted(found + unsent[-limit:], key=lambda row: row[0]["id"])[-limit:]
        return found
