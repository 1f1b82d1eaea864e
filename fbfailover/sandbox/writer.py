"""The writer thread: runs batches of prepared writes on a connection of its own, in order, one commit per wake-up.

The loop serializes documents (``Pending.take()``) and hands the statements over; executing them and committing
happens here. ``sqlite3`` releases the GIL while SQLite works, so the loop goes on answering requests on the other
core instead of pausing for every batch. Each batch may carry a callback, called on this thread with ``None``
once its commit is done, or with the error when the commit failed (nothing of that commit was saved).
A ``:memory:`` database cannot be shared by two connections: ``InlineWriter`` does the same work at once, on
the caller's connection.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from contextlib import suppress

from .writes import Ops

__all__ = ["Done", "InlineWriter", "Writer"]

Done = Callable[[BaseException | None], None]
log = logging.getLogger("fbfailover.sandbox")


def _run_batch(db: sqlite3.Connection, batch: list[tuple[Ops, Done | None]]) -> BaseException | None:
    """Execute every statement of ``batch`` in one transaction and commit; the error if that failed."""
    if not any(ops for ops, _ in batch):
        return None
    try:
        db.execute("BEGIN IMMEDIATE")
        for ops, _ in batch:
            for sql, rows in ops:
                db.executemany(sql, rows)
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        if db.in_transaction:
            with suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        return exc
    return None


def _settle(batch: list[tuple[Ops, Done | None]], error: BaseException | None) -> None:
    if error is not None and not any(done for _, done in batch):
        log.error("sandbox: background writes could not be saved: %s", error)
    for _, done in batch:
        if done is not None:
            done(error)


class Writer:
    """A thread owning one connection to the database file; ``submit`` queues a batch, ``flush`` waits for it."""

    def __init__(self, path: str):
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoint thread does it
        self.db.execute("PRAGMA cache_size=-32768")
        self._cv = threading.Condition()
        self._queue: list[tuple[Ops, Done | None]] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-writer", daemon=True)
        self._thread.start()

    def submit(self, ops: Ops, done: Done | None = None) -> None:
        """Queue ``ops``; they commit after every batch queued before them."""
        with self._cv:
            if self._stopping:
                raise sqlite3.ProgrammingError("the writer is closed")
            self._queue.append((ops, done))
            self._cv.notify()

    def flush(self, ops: Ops) -> None:
        """Queue ``ops`` and wait until they (and everything queued before) are committed; raises on failure."""
        finished = threading.Event()
        outcome: list[BaseException | None] = []

        def done(error: BaseException | None) -> None:
            outcome.append(error)
            finished.set()

        self.submit(ops, done)
        finished.wait()
        if outcome[0] is not None:
            raise outcome[0]

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._queue and not self._stopping:
                    self._cv.wait()
                if not self._queue:
                    return
                batch, self._queue = self._queue, []
            try:
                error = _run_batch(self.db, batch)
            except BaseException as exc:  # never leave a waiting request hanging
                error = exc
            _settle(batch, error)

    def close(self) -> None:
        """Commit what is queued, stop the thread and close the connection; safe to call twice."""
        with self._cv:
            if self._stopping:
                return
            self._stopping = True
            self._cv.notify()
        if self._thread is not threading.current_thread():
            self._thread.join()
        self.db.close()


class InlineWriter:
    """The same interface on the caller's connection and thread (for ``:memory:`` databases)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def submit(self, ops: Ops, done: Done | None = None) -> None:
        if self.db.in_transaction:  # the sqlite3 module's own transaction: end it before ours
            self.db.commit()
        batch = [(ops, done)]
        _settle(batch, _run_batch(self.db, batch))

    def flush(self, ops: Ops) -> None:
        error: list[BaseException | None] = []
        self.submit(ops, error.append)
        if error[0] is not None:
            raise error[0]

    def close(self) -> None:
        pass
