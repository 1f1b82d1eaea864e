"""Commits of the simulation's rows, made by the writer thread: awaited by requests, batched for background work.

Writes are queued (``writes.Pending``); a request's queue is handed to the writer at the end of the loop
iteration (a group commit), and the requests await its commit; background work (timers firing, webhook
attempts) is handed over every ``WRITE_BEHIND`` real seconds and nobody waits for it. Batches commit in the
order they were handed over, so a later version of a row never loses to an earlier one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from .writer import InlineWriter, Writer
from .writes import Ops, Pending

__all__ = ["WRITE_BEHIND", "Commits", "SaveError"]

WRITE_BEHIND = 0.02  # real seconds between commits of background work


class SaveError(Exception):
    """Raised to the requests of a group commit that failed: nothing they changed was saved."""


def _settle(future: asyncio.Future | None, failure: BaseException | None) -> None:
    if future is not None and not future.done():
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)


class Commits:
    """The mixin of ``State`` for commits; needs ``db``, ``lock``, ``_writer``, the queues and ``closed``."""

    db: sqlite3.Connection
    lock: threading.RLock
    closed: bool
    _writer: Writer | InlineWriter
    _now: Pending
    _later: Pending
    _queue: Pending
    _pending: asyncio.Future | None
    _later_handle: asyncio.TimerHandle | None
    before_commit: Callable[[], None] | None

    # -- transactions -----------------------------------------------------------------------------
    def _commit_direct(self) -> None:
        """Commit what this connection wrote itself (accounts, applications, rules): short, and rare."""
        if self.db.in_transaction:
            self.db.commit()

    def _take_now(self) -> tuple[Ops, asyncio.Future | None]:
        """The writes owed to requests, with the future those requests await (whoever saves them settles it)."""
        pending, self._pending = self._pending, None
        return self._now.take(), pending

    def commit(self) -> None:
        """Make everything so far durable against a crash of the process (and visible to queries); waits."""
        with self.lock:
            if self.closed:
                return
            self._commit_direct()
            if self.before_commit is not None:
                self.before_commit()
            ops, pending = self._take_now()
            ops += self._later.take()
            try:
                self._writer.flush(ops)
            except sqlite3.Error as exc:
                if pending is not None:
                    _settle(pending, SaveError(f"the database could not be written ({exc})"))
                raise
            if pending is not None:
                _settle(pending, None)

    write_pending = commit  # queries see every queued write once it is committed

    def commit_soon(self) -> asyncio.Future:
        """Group commit: one commit at the end of this loop iteration for every request served in it.

        Await the returned future before answering a request, so that an answer always means "saved".
        """
        if self._pending is None:
            loop = asyncio.get_running_loop()
            self._pending = loop.create_future()
            loop.call_soon(self._flush)
        return self._pending

    def _flush(self) -> None:
        if self._pending is None:
            return  # a synchronous commit saved them already
        loop = self._pending.get_loop()
        try:
            with self.lock:
                if self.closed:
                    _settle(self._take_now()[1], None)
                    return
                self._commit_direct()
                # Background writes and the clock checkpoint wait for their own batch: fewer pages to write
                # before the answer.
                ops, pending = self._take_now()
        except sqlite3.Error as exc:  # disk full, file gone read-only...: the waiting requests must not say 202
            with suppress(sqlite3.Error):
                self.db.rollback()
            _settle(self._take_now()[1], SaveError(f"the database could not be written ({exc})"))
            return

        def done(error: BaseException | None) -> None:
            failure = None if error is None else SaveError(f"the database could not be written ({error})")
            with suppress(RuntimeError):  # the loop is gone: nobody waits any more
                loop.call_soon_threadsafe(_settle, pending, failure)

        self._writer.submit(ops, done)
        if self.before_commit is not None:
            self.commit_later()

    def commit_later(self) -> None:
        """Commit within ``WRITE_BEHIND`` seconds (background work: nobody waits for it)."""
        if self._later_handle is None and not self.closed:
            self._later_handle = asyncio.get_running_loop().call_later(WRITE_BEHIND, self._flush_later)

    def _flush_later(self) -> None:
        self._later_handle = None
        with self.lock:
            if self.closed:
                return
            if self.before_commit is not None:
                self.before_commit()
            self._writer.submit(self._later.take())  # the writer thread executes and commits it

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Queue the writes made inside for the next background batch (unless a request still owes them)."""
        previous, self._queue = self._queue, self._later
        try:
            yield
        finally:
            self._queue = previous
