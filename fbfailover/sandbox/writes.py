"""Rows waiting to be written: the latest version of each, handed to SQLite in one ``executemany`` per table.

``take()`` serializes the queue into statements and their rows (on the thread that owns the documents) and
empties it; the statements can then run anywhere, e.g. on the writer thread (``writer.py``).

A document changed several times before a flush is serialized once; a timer added and removed before a flush
(most status steps take a few real milliseconds) never reaches the database at all. Changed documents are
updated in place (an upsert, not ``INSERT OR REPLACE``, which would move the row and rewrite its indexes).
"""

from __future__ import annotations

from .schema import dumps

__all__ = ["Ops", "Pending"]

Ops = list[tuple[str, list[tuple]]]


class Pending:
    """One queue of writes; ``take()`` turns it into statements and empties it."""

    __slots__ = ("deliveries", "delivery_docs", "dispatches", "dropped", "messages", "meta", "timers")

    def __init__(self) -> None:
        self.dispatches: dict[str, dict] = {}
        self.messages: dict[str, dict] = {}
        self.timers: dict[int, tuple[int, float, str, str, dict]] = {}
        self.dropped: list[int] = []  # timers to delete
        self.deliveries: dict[int, tuple[int, dict, bytes]] = {}  # new rows: id -> (account_id, doc, body)
        self.delivery_docs: dict[int, dict] = {}  # changed documents of rows already written
        self.meta: dict[str, str] = {}

    def __len__(self) -> int:
        return (
            len(self.dispatches)
            + len(self.messages)
            + len(self.timers)
            + len(self.dropped)
            + len(self.deliveries)
            + len(self.delivery_docs)
            + len(self.meta)
        )

    def take(self) -> Ops:
        """The queued writes as ``(sql, rows)`` pairs, documents serialized now; the queue is left empty."""
        ops: Ops = []
        if self.dispatches:
            ops.append(
                (
                    "INSERT INTO dispatches VALUES (?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET doc=excluded.doc",
                    [(uuid, doc["account_id"], dumps(doc)) for uuid, doc in self.dispatches.items()],
                )
            )
            self.dispatches = {}
        if self.messages:
            ops.append(
                (
                    "INSERT INTO messages VALUES (?, ?, ?, ?) ON CONFLICT (uuid) DO UPDATE SET doc=excluded.doc",
                    [
                        (uuid, doc["account_id"], doc.get("dispatch_uuid"), dumps(doc))
                        for uuid, doc in self.messages.items()
                    ],
                )
            )
            self.messages = {}
        if self.timers:
            ops.append(
                (
                    "INSERT INTO timers (id, due, kind, ref, data) VALUES (?, ?, ?, ?, ?)",
                    [(i, due, kind, ref, dumps(data)) for i, due, kind, ref, data in self.timers.values()],
                )
            )
            self.timers = {}
        if self.dropped:
            ops.append(("DELETE FROM timers WHERE id=?", [(i,) for i in self.dropped]))
            self.dropped = []
        if self.deliveries:
            ops.append(
                (
                    "INSERT INTO deliveries (id, account_id, dispatch_uuid, message_uuid, status, doc, body) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (i, a, doc.get("dispatch_uuid"), doc.get("message_uuid"), doc["status"], dumps(doc), body)
                        for i, (a, doc, body) in self.deliveries.items()
                    ],
                )
            )
            self.deliveries = {}
        if self.delivery_docs:
            ops.append(
                (
                    "UPDATE deliveries SET status=?, doc=? WHERE id=?",
                    [(doc["status"], dumps(doc), i) for i, doc in self.delivery_docs.items()],
                )
            )
            self.delivery_docs = {}
        if self.meta:
            ops.append(("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", list(self.meta.items())))
            self.meta = {}
        return ops
