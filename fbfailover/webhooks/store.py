"""A thread-safe, bounded store of webhook events that other threads can wait on and subscribe to.

The HTTP handler only appends (under a lock) and returns: subscribers and the optional JSON-lines file are
served by one worker thread, so a slow subscriber never delays the webhook's answer. The worker takes what
arrived in batches, at most every ``HAND_OVER`` seconds: waking a thread for every webhook cost the answering
thread a futex wake-up and a switch of the interpreter lock each time (a fifth of the receiver's time under load).
For the same reason the request path wakes the worker only when it waits, notifies only threads that wait on the
store, and a subscriber can ask to be told when a batch ends (``on_batch_end``: the receiver's command flushes its
output once per batch, not once per line), and the JSON-lines file is flushed once per batch.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fbfailover.errors import WaitTimeout  # defined with the rest of the error tree
from fbfailover.webhooks.events import Event

T = TypeVar("T")

__all__ = ["DEFAULT_MAX_EVENTS", "EventStore", "Rejection", "Stats", "WaitTimeout", "matcher"]

DEFAULT_MAX_EVENTS = 10_000
HAND_OVER = 0.002  # seconds the worker lets events gather after a batch, before it looks again


@dataclass(frozen=True)
class Rejection:
    """A webhook the receiver refused: where, why, with which HTTP status."""

    route: str
    reason: str
    status: int = 401
    received_at: float = 0.0


@dataclass(frozen=True)
class Stats:
    """Counters: accepted (distinct events), duplicates (recognised redeliveries), rejected, dropped."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    dropped: int = 0


def matcher(kind: str | None = None, *, dispatch_uuid: str | None = None, status: str | None = None,
            channel: str | None = None, message_uuid: str | None = None,
            predicate: Callable[[Event], bool] | None = None,
            verified: bool | None = None) -> tuple[Callable[[Event], bool], str]:
    """Build a predicate over events from the usual filters, plus a description for error messages.

    ``verified=True`` keeps only events whose signature was checked against the signature secret (what may drive a
    tutorial step: an unsigned or unchecked webhook may come from anyone who knows the URL).
    """
    wanted = {"kind": kind, "dispatch_uuid": dispatch_uuid, "status": status, "channel": channel,
              "message_uuid": message_uuid, "verified": verified}
    wanted = {k: v for k, v in wanted.items() if v is not None}

    def match(event: Event) -> bool:
        if any(getattr(event, k) != v for k, v in wanted.items()):
            return False
        return predicate is None or bool(predicate(event))

    text = " ".join(f"{k}={v}" for k, v in wanted.items()) or "any event"
    if predicate is not None:
        text += f" matching {getattr(predicate, '__name__', 'predicate')}"
    return match, text


def timeout_error(wanted: str, timeout: float, arrived: list[Event], after: int = 0) -> WaitTimeout:
    """The WaitTimeout for ``wanted`` after ``timeout`` seconds, naming the events that did arrive."""
    seen = [e for e in arrived if e.seq > after]
    if not seen:
        detail = "nothing arrived — do the webhook URLs point at this receiver?"
    else:
        shown = ", ".join(f"#{e.seq} {e.summary()}" for e in seen[-8:])
        more = f" (last 8 of {len(seen)})" if len(seen) > 8 else ""
        detail = f"arrived instead{more}: {shown}"
    return WaitTimeout(f"no event with {wanted} within {timeout:g} s; {detail}", wanted=wanted, arrived=seen)


class EventStore:
    """Events in arrival order, bounded (oldest dropped first), deduplicated on ``Event.key``.

    Args:
        max_events: how many events to keep; older ones are dropped and counted in ``stats.dropped``.
        path: optional JSON-lines file (created 0600); every accepted event is appended as one line (by the worker
            thread).
    """

    def __init__(self, max_events: int = DEFAULT_MAX_EVENTS, path: str | Path | None = None):
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self.max_events = max_events
        self.path = Path(path) if path is not None else None
        self._cond = threading.Condition()
        self._events: collections.deque[Event] = collections.deque()
        self._by_key: dict[Any, Event] = {}
        self._rejections: collections.deque[Rejection] = collections.deque(maxlen=1000)
        self._seq = 0
        self._duplicates = 0
        self._rejected = 0
        self._dropped = 0
        self._subscribers: list[tuple[Callable[[Any], None], bool, Callable[[], None] | None]] = []
        self._waiters = 0  # threads in wait_for / wait_until: add() notifies only when there are some
        self.callback_errors: list[BaseException] = []
        self._queue: collections.deque[Any] = collections.deque()  # for the worker: appended, then popped left
        self._arrived = threading.Event()  # set when the queue got something since the worker last looked
        self._worker: threading.Thread | None = None
        self._closed = False
        if self.path is not None:
            self._ensure_worker()

    # -- writing (request path) -------------------------------------------------------------------
    def add(self, event: Event) -> tuple[Event, bool]:
        """Store ``event`` unless it is a redelivery; return ``(stored event, is_new)``."""
        with self._cond:
            if event.key is not None:
                first = self._by_key.get(event.key)
                if first is not None:
                    first.deliveries += 1
                    self._duplicates += 1
                    return first, False
            self._seq += 1
            event.seq = self._seq
            event.received_at = time.time()
            self._events.append(event)
            if event.key is not None:
                self._by_key[event.key] = event
            while len(self._events) > self.max_events:
                old = self._events.popleft()
                self._dropped += 1
                if old.key is not None and self._by_key.get(old.key) is old:
                    del self._by_key[old.key]
            if self._waiters:
                self._cond.notify_all()
            notify = self._worker is not None
        if notify:
            self._hand_over(event)
        return event, True

    def reject(self, route: str, reason: str, status: int = 401) -> Rejection:
        """Record a refused webhook."""
        rejection = Rejection(route=route, reason=reason, status=status, received_at=time.time())
        with self._cond:
            self._rejected += 1
            self._rejections.append(rejection)
            notify = self._worker is not None
        if notify:
            self._hand_over(rejection)
        return rejection

    # -- reading ----------------------------------------------------------------------------------
    def events(self, kind: str | None = None, dispatch_uuid: str | None = None,
               **filters: Any) -> list[Event]:
        """Events in arrival order, optionally filtered (same filters as ``wait_for``)."""
        match, _ = matcher(kind, dispatch_uuid=dispatch_uuid, **filters)
        with self._cond:
            return [e for e in self._events if match(e)]

    def __len__(self) -> int:
        with self._cond:
            return len(self._events)

    @property
    def last_seq(self) -> int:
        """``seq`` of the newest event (0 before any); pass it as ``after=`` to wait for new ones only."""
        with self._cond:
            return self._seq

    @property
    def rejections(self) -> list[Rejection]:
        """The most recent refused webhooks (up to 1,000), oldest first."""
        with self._cond:
            return list(self._rejections)

    @property
    def stats(self) -> Stats:
        """Current counters."""
        with self._cond:
            return Stats(accepted=self._seq, duplicates=self._duplicates, rejected=self._rejected,
                         dropped=self._dropped)

    def find(self, match: Callable[[Event], bool], after: int = 0) -> Event | None:
        """The oldest stored event with ``seq > after`` that matches, or None."""
        with self._cond:
            return self._find(match, after)

    def _find(self, match: Callable[[Event], bool], after: int) -> Event | None:
        for event in self._events:
            if event.seq > after and match(event):
                return event
        return None

    def wait_for(self, kind: str | None = None, *, dispatch_uuid: str | None = None,
                 status: str | None = None, channel: str | None = None, message_uuid: str | None = None,
                 predicate: Callable[[Event], bool] | None = None, timeout: float = 10.0,
                 after: int = 0, verified: bool | None = None) -> Event:
        """Block until a matching event is stored (or already is) and return the oldest such event.

        Raises:
            WaitTimeout: when none matched within ``timeout`` seconds; it lists what arrived instead.
        """
        match, wanted = matcher(kind, dispatch_uuid=dispatch_uuid, status=status, channel=channel,
                                message_uuid=message_uuid, predicate=predicate, verified=verified)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._find(match, after)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise timeout_error(wanted, timeout, list(self._events), after)
                self._wait(remaining)

    def wait_until(self, predicate: Callable[[list[Event]], T | None], timeout: float, *, wanted: str = "",
                   tick: float | None = None, on_tick: Callable[[], None] | None = None) -> T:
        """Block until ``predicate(events)`` returns something true (an event, a non-empty list...), and return it.

        ``predicate`` sees every stored event, in arrival order, each time one arrives (and once at once): it
        decides on the state of the store, never on how long it waited.

        Args:
            timeout: seconds of real time to wait.
            wanted: what is waited for, for the ``WaitTimeout`` message.
            tick, on_tick: call ``on_tick()`` at least every ``tick`` seconds while waiting (a progress bar).

        Raises:
            WaitTimeout: when the predicate never held within ``timeout``; it lists what arrived.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                found = predicate(list(self._events))
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise timeout_error(wanted or "the awaited events", timeout, list(self._events))
                # woken by the next event (add() notifies), or after ``tick`` for the caller's progress
                self._wait(remaining if tick is None else min(remaining, tick))
            if on_tick is not None:
                on_tick()

    def _wait(self, seconds: float) -> None:
        """``self._cond.wait(seconds)``, counted in ``_waiters`` (the lock is held)."""
        self._waiters += 1
        try:
            self._cond.wait(seconds)
        finally:
            self._waiters -= 1

    # -- subscribers (worker thread) --------------------------------------------------------------
    def subscribe(self, callback: Callable[[Any], None], *, rejections: bool = False,
                  on_batch_end: Callable[[], None] | None = None) -> Callable[[], None]:
        """Call ``callback(event)`` for each new event, from the store's worker thread; return an unsubscribe.

        With ``rejections=True`` the callback also receives each ``Rejection``. ``on_batch_end()``, when given, is
        called after each batch of items the worker handed to the callback (the worker takes what arrived together,
        every ``HAND_OVER`` seconds at most), and before ``flush`` returns: where output is flushed once per batch.
        Exceptions raised by either are kept in ``callback_errors`` (never printed: the worker must not write into a
        cell).
        """
        entry = (callback, rejections, on_batch_end)
        with self._cond:
            self._subscribers.append(entry)
            self._ensure_worker()

        def unsubscribe() -> None:
            with self._cond:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def _ensure_worker(self) -> None:
        if self._worker is None and not self._closed:
            self._worker = threading.Thread(target=self._work, name="fbfailover-webhook-events", daemon=True)
            self._worker.start()

    def _hand_over(self, item: Any) -> None:
        self._queue.append(item)
        if not self._arrived.is_set():  # set since the worker last cleared it: it will see this item too
            self._arrived.set()  # wakes the worker only when it waits (it usually sleeps between batches)

    def _work(self) -> None:
        file = _private_append(self.path) if self.path is not None else None
        try:
            while True:
                self._arrived.wait()
                self._arrived.clear()
                served: list[Any] = []  # the subscribers that had an item in this batch
                while self._queue:
                    item = self._queue.popleft()
                    if item is None or isinstance(item, _Marker):
                        self._end_batch(served, file)  # what came before is out before flush() returns
                        served = []
                        if item is None:
                            return
                        item()
                        continue
                    self._serve(item, file, served)
                self._end_batch(served, file)
                time.sleep(HAND_OVER)
        finally:
            if file is not None:
                file.close()

    def _serve(self, item: Any, file: Any, served: list[Any]) -> None:
        """Hand one item to the file and to the subscribers that want it (noted in ``served``)."""
        if file is not None and isinstance(item, Event):
            file.write(json.dumps(item.to_json(), default=str) + "\n")
        with self._cond:
            subscribers = list(self._subscribers)
        for entry in subscribers:
            callback, wants_rejections, _ = entry
            if isinstance(item, Rejection) and not wants_rejections:
                continue
            if entry not in served:
                served.append(entry)
            try:
                callback(item)
            except Exception as exc:  # a broken subscriber must not stop the others
                self.callback_errors.append(exc)

    def _end_batch(self, served: list[Any], file: Any) -> None:
        """Flush the file and tell the subscribers ``served`` in the batch that it ended."""
        if file is not None:
            file.flush()
        for _, _, on_batch_end in served:
            if on_batch_end is None:
                continue
            try:
                on_batch_end()
            except Exception as exc:
                self.callback_errors.append(exc)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until the worker has handed every queued item to the subscribers and the file."""
        if self._worker is None:
            return
        done = threading.Event()
        self._hand_over(_Marker(done))
        done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued, then stop the worker thread and close the file; safe to call twice."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            worker = self._worker
        if worker is not None:
            self._hand_over(None)
            worker.join(timeout)


def _private_append(path: Path) -> Any:
    """``path`` opened for appending text, created 0600 (webhooks hold phone numbers and texts)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(path, 0o600)
    return open(fd, "a", encoding="utf-8")


class _Marker:
    """Queue item that lets ``flush`` know the worker has caught up."""

    def __init__(self, done: threading.Event):
        self.done = done

    def __call__(self) -> None:
        self.done.set()
