"""Dispatches, messages, timers and webhook deliveries: the rows the simulation writes many times a second.

Writes go to a queue (``writes.Pending``) rather than straight to SQLite: the queue of a request is written
and committed (by the writer thread) before the request is answered; the queue of background work (timers
firing, webhook attempts) every ``WRITE_BEHIND`` real seconds. Reads see queued writes: documents come from
memory, and a query first commits every queued write.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import deque
from itertools import islice
from typing import Any

from .schema import dumps
from .writes import Pending

__all__ = ["UNSENT_KEPT", "Records"]

_DOC_CACHE = 32768
# Webhooks that had no URL to go to, kept per account for the deliveries listing: in memory only. They are no work
# to resume, and writing them made up about half of the database's work when no webhook URL was set.
UNSENT_KEPT = 1000


class Records:
    """The mixin of ``State`` for the simulation's rows; needs ``db``, ``lock`` and ``_init_records()``."""

    db: sqlite3.Connection
    lock: threading.RLock

    def _init_records(self) -> None:
        self._now = Pending()  # written before the current request is answered
        self._later = Pending()  # written within WRITE_BEHIND seconds
        self._queue = self._now
        # Recently written dispatch and message documents: the simulation reads them back on every step.
        self._docs: dict[str, dict] = {}
        # Deliveries still to be attempted: id -> (account_id, doc, body).
        self._live: dict[int, tuple[int, dict, bytes]] = {}
        # The latest webhooks without a URL, per account: (id, doc, body).
        self._unsent: dict[int, deque[tuple[int, dict, dict]]] = {}
        self._next_timer = self._next_id("timers")
        self._next_delivery = self._next_id("deliveries")

    def _next_id(self, table: str) -> int:
        seq = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name=?", (table,)).fetchone()
        top = self.db.execute(f"SELECT MAX(id) FROM {table}").fetchone()[0]  # a fixed table name
        return max(seq[0] if seq else 0, top or 0) + 1

    def write_pending(self) -> None:
        """Commit every queued write, so that a query sees it (``State`` provides it)."""
        raise NotImplementedError

    def _put(self, table: str, key: Any, value: Any) -> None:
        now, later = getattr(self._now, table), getattr(self._later, table)
        if self._queue is self._now:
            later.pop(key, None)
            now[key] = value
        elif key in now:
            now[key] = value  # still owed to a request
        else:
            later[key] = value

    # -- dispatches and messages (documents keyed by uuid) ----------------------------------------
    def _remember(self, key: str, doc: dict) -> None:
        docs = self._docs
        docs.pop(key, None)  # to the end: the least recently written are dropped first
        docs[key] = doc
        if len(docs) > _DOC_CACHE:
            for old in list(islice(docs, _DOC_CACHE // 2)):
                del docs[old]

    def forget(self, *uuids: str) -> None:
        """Drop finished documents from the cache (fewer live objects: shorter garbage collections)."""
        for uuid in uuids:
            self._docs.pop("d" + uuid, None)
            self._docs.pop("m" + uuid, None)

    def put_dispatch(self, doc: dict) -> None:
        """Write a dispatch document; the caller owns ``doc`` and must put it again after changing it."""
        self._put("dispatches", doc["uuid"], doc)
        self._remember("d" + doc["uuid"], doc)

    def dispatch(self, uuid: str) -> dict | None:
        return self._document("dispatches", "d", uuid)

    def _document(self, table: str, prefix: str, uuid: str) -> dict | None:
        """A dispatch or message document: from the cache, the write queues, else the database."""
        doc = (self._docs.get(prefix + uuid) or getattr(self._now, table).get(uuid)
               or getattr(self._later, table).get(uuid))
        if doc is None:
            self.write_pending()  # its latest version may still be on its way to the database
            row = self.db.execute(f"SELECT doc FROM {table} WHERE uuid=?", (uuid,)).fetchone()
            if row is None:
                return None
            doc = json.loads(row[0])
            self._remember(prefix + uuid, doc)
        return doc

    def put_message(self, doc: dict) -> None:
        """Write a message document; as for dispatches, put it again after every change."""
        self._put("messages", doc["uuid"], doc)
        self._remember("m" + doc["uuid"], doc)

    def message(self, uuid: str) -> dict | None:
        return self._document("messages", "m", uuid)

    def messages_of(self, dispatch_uuid: str) -> list[dict]:
        """The messages of a dispatch or workflow in item order (its document lists their uuids)."""
        dispatch = self.dispatch(dispatch_uuid)
        found = [self.message(uuid) for uuid in dispatch["messages"]] if dispatch else []
        return sorted((m for m in found if m is not None), key=lambda m: (m.get("item") or 0, m["created"]))

    # -- timers -----------------------------------------------------------------------------------
    def add_timer(self, due: float, kind: str, ref: str, data: dict | None = None) -> int:
        timer_id = self._next_timer
        self._next_timer += 1
        self._queue.timers[timer_id] = (timer_id, due, kind, ref, data or {})
        return timer_id

    def delete_timer(self, timer_id: int) -> None:
        if self._now.timers.pop(timer_id, None) is None and self._later.timers.pop(timer_id, None) is None:
            self._queue.dropped.append(timer_id)  # already in the database

    def timers(self) -> list[tuple[int, float, str, str, dict]]:
        self.write_pending()
        rows = self.db.execute("SELECT id, due, kind, ref, data FROM timers ORDER BY due, id").fetchall()
        return [(i, d, k, r, json.loads(x)) for i, d, k, r, x in rows]

    # -- webhook deliveries -----------------------------------------------------------------------
    def add_delivery(self, account_id: int, doc: dict, body: bytes) -> int:
        delivery_id = self._next_delivery
        self._next_delivery += 1
        self._queue.deliveries[delivery_id] = row = (account_id, doc, body)
        if doc["status"] == "pending":
            self._live[delivery_id] = row
        return delivery_id

    def add_unsent(self, account_id: int, doc: dict, body: dict) -> int:
        """Record a webhook that had no URL (``status: no_url``); the latest ``UNSENT_KEPT`` of an account are
        listed with its deliveries until the sandbox stops. ``body`` must not change afterwards."""
        delivery_id = self._next_delivery
        self._next_delivery += 1
        kept = self._unsent.get(account_id)
        if kept is None:
            kept = self._unsent[account_id] = deque(maxlen=UNSENT_KEPT)
        kept.append((delivery_id, doc, body))
        return delivery_id

    def update_delivery(self, delivery_id: int, doc: dict) -> None:
        for queue in (self._now, self._later):
            row = queue.deliveries.get(delivery_id)
            if row is not None:
                row = (row[0], doc, row[2])
                if queue is self._later and self._queue is self._now:
                    del queue.deliveries[delivery_id]
                    queue = self._now
                queue.deliveries[delivery_id] = row
                break
        else:
            row = self._live.get(delivery_id)
            self._put("delivery_docs", delivery_id, doc)
        if doc["status"] == "pending" and row is not None:
            self._live[delivery_id] = (row[0], doc, row[2])
        else:
            self._live.pop(delivery_id, None)

    def delivery(self, delivery_id: int) -> tuple[dict, bytes] | None:
        live = self._live.get(delivery_id)
        if live is not None:
            return {**live[1], "id": delivery_id, "account_id": live[0]}, live[2]
        self.write_pending()
        row = self.db.execute("SELECT id, account_id, doc, body FROM deliveries WHERE id=?", (delivery_id,)).fetchone()
        if row is None:
            return None
        doc = json.loads(row[2])
        if doc["status"] == "pending":
            self._live[delivery_id] = (row[1], doc, row[3])
        return {**doc, "id": row[0], "account_id": row[1]}, row[3]

    def pending_deliveries(self) -> list[int]:
        """Ids of every delivery still to be attempted."""
        self.write_pending()
        return [i for (i,) in self.db.execute("SELECT id FROM deliveries WHERE status='pending'")]

    def deliveries(
        self,
        account_id: int,
        *,
        dispatch_uuid: str | None = None,
        status: str | None = None,
        limit: int = 500,
    ) -> list[tuple[dict, bytes]]:
        self.write_pending()
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
        found = [({**json.loads(d), "id": i}, b) for i, d, b in reversed(rows)]
        unsent = [
            ({**doc, "id": i}, dumps(body).encode("utf-8"))
            for i, doc, body in self._unsent.get(account_id, ())
            if (not dispatch_uuid or doc["dispatch_uuid"] == dispatch_uuid) and (not status or status == "no_url")
        ]
        if unsent:
            found = sorted(found + unsent[-limit:], key=lambda row: row[0]["id"])[-limit:]
        return found
