"""Simulated time and the persisted timers that run on it.

``Clock`` runs ``time_scale`` simulated seconds per real second (600 by default: the tutorial's 600 s expiry
takes one second), or stands still in manual mode until ``advance()``. Simulated time is a Unix timestamp: it
starts at the wall clock when the database is new and continues from where it stopped after a restart.

``Scheduler`` keeps timers as database rows (due time, kind, reference) and in a heap; exactly one loop
callback is armed for the earliest. After a restart every row is loaded again, so pending work resumes. A timer's
kind is a ``TimerKind``; ``Core`` (``core.py``) says, in one place, which part runs each kind.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .records import Records
    from .storage import Database


__all__ = ["Clock", "Scheduler", "TimerKind"]

# Real seconds of timers fired in one go before the loop serves the requests waiting for it.
_SLICE = 0.002

Fire = Callable[[str, dict, float], "Awaitable[Any] | None"]


class TimerKind(str, Enum):
    """What a timer does when it is due (its value is what the database row keeps)."""

    DELIVER = "deliver"  #: attempt a webhook delivery (``Webhooks.attempt``); ref: the delivery id
    STATUS = "status"  #: a message's next status step (``Messages.on_status_timer``); ref: the message uuid
    EXPIRY = "expiry"  #: a dispatch item's failover deadline (``Failover.on_expiry``); ref: the dispatch uuid


class Clock:
    """Simulated time: scaled real time, or manual."""

    def __init__(self, start: float, time_scale: float = 600.0, manual: bool = False):
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.scale = float(time_scale)
        self.manual = manual
        self._base_sim = float(start)
        self._base_real = time.monotonic()

    def now(self) -> float:
        """Current simulated time (Unix seconds)."""
        if self.manual:
            return self._base_sim
        return self._base_sim + (time.monotonic() - self._base_real) * self.scale

    def advance(self, seconds: float) -> None:
        """Move simulated time forward, in either mode."""
        self._base_sim += seconds

    def set(self, sim: float) -> None:
        """Jump to ``sim`` if it is later than now, in either mode (``Scheduler.advance`` fires timers this way)."""
        now = self.now()
        if sim > now:
            self._base_sim += sim - now

    def real_delay(self, sim_due: float) -> float:
        """Real seconds until ``sim_due``; in manual mode 0 when due, else infinite."""
        if self.manual:
            return 0.0 if sim_due <= self.now() else float("inf")
        return max(0.0, (sim_due - self.now()) / self.scale)


class Scheduler:
    """Persisted timers of several kinds (``TimerKind``); ``Core`` registers what runs when one of each kind is due."""

    def __init__(self, db: Database, records: Records, clock: Clock):
        self.db = db
        self.records = records
        self.clock = clock
        self._handlers: dict[TimerKind, Fire] = {}
        self._heap: list[tuple[float, int]] = []
        self._timers: dict[int, tuple[float, TimerKind, str, dict]] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._armed_for: float | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.fired = 0

    def on(self, kind: TimerKind, handler: Fire) -> None:
        """Run ``handler(ref, data, at)`` for each due timer of ``kind``; it may return an awaitable."""
        self._handlers[TimerKind(kind)] = handler

    def wired(self) -> dict[TimerKind, Fire]:
        """Which handler runs each kind (a copy)."""
        return dict(self._handlers)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Load every persisted timer and arm the earliest."""
        self.loop = loop
        for timer_id, due, kind, ref, data in self.records.timers():
            self._timers[timer_id] = (due, TimerKind(kind), ref, data)
            heapq.heappush(self._heap, (due, timer_id))
        self._arm()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def __len__(self) -> int:
        return len(self._timers)

    def add(self, due: float, kind: TimerKind, ref: str, data: dict | None = None) -> int:
        """Persist a timer (committed with the current transaction) and arm it."""
        data = data or {}
        kind = TimerKind(kind)
        timer_id = self.records.add_timer(due, kind.value, ref, data)
        self._timers[timer_id] = (due, kind, ref, data)
        heapq.heappush(self._heap, (due, timer_id))
        if self.loop is not None and (self._armed_for is None or due < self._armed_for):
            self._arm()
        return timer_id

    def cancel(self, timer_id: int | None) -> None:
        if timer_id is not None and self._timers.pop(timer_id, None) is not None:
            self.records.delete_timer(timer_id)

    def _arm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_for = None
        due = self._next_due()
        if due is None or self.loop is None:
            return
        if self.clock.manual and due > self.clock.now():
            return  # a manual clock only fires what is already due (webhooks sent "now")
        self._armed_for = due
        self._handle = self.loop.call_later(self.clock.real_delay(due), self._wake)

    def _wake(self) -> None:
        self._handle = None
        self._armed_for = None
        try:
            self.run_due(self.clock.now(), budget=_SLICE)
            self.db.changed()  # nobody waits for background work: committed within WRITE_BEHIND
        finally:
            self._arm()

    def _pop_due(self, upto: float) -> list[tuple[int, float, TimerKind, str, dict]]:
        """Every timer due at the earliest due time not after ``upto``."""
        batch: list[tuple[int, float, TimerKind, str, dict]] = []
        while self._heap:
            due, timer_id = self._heap[0]
            if timer_id not in self._timers:
                heapq.heappop(self._heap)
                continue
            if due > upto or (batch and due > batch[0][1]):
                break
            heapq.heappop(self._heap)
            _, kind, ref, data = self._timers.pop(timer_id)
            batch.append((timer_id, due, kind, ref, data))
        return batch

    def run_due(self, upto: float, limit: int | None = None, budget: float | None = None) -> list[Awaitable[Any]]:
        """Fire the timers due by ``upto`` in due order (about ``limit`` at most, or for about ``budget`` real
        seconds, so that requests waiting on the loop are served in between); returns the awaitables the
        firings started."""
        started: list[Awaitable[Any]] = []
        fired = 0
        stop_at = None if budget is None else time.perf_counter() + budget
        while (
            (limit is None or fired < limit)
            and (stop_at is None or time.perf_counter() < stop_at)
            and (batch := self._pop_due(upto))
        ):
            fired += len(batch)
            for timer_id, due, kind, ref, data in batch:
                self.records.delete_timer(timer_id)
                self.fired += 1
                result = self._handlers[kind](ref, data, due)
                if result is not None:
                    started.append(result)
        return started

    async def advance(self, seconds: float, settle: float = 10.0) -> int:
        """Move the clock forward, firing timers in order; webhook attempts started are awaited so that
        retries they schedule inside the window fire too. Returns how many timers fired."""
        target = self.clock.now() + seconds
        fired_before = self.fired
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
            self._armed_for = None
        while True:
            batch_due = self._next_due()
            if batch_due is None or batch_due > target:
                break
            self.clock.set(batch_due)
            started = self.run_due(batch_due)
            if started:
                await asyncio.wait([asyncio.ensure_future(a) for a in started], timeout=settle)
        self.clock.set(target)
        self.db.commit()
        self._arm()
        return self.fired - fired_before

    def _next_due(self) -> float | None:
        while self._heap and self._heap[0][1] not in self._timers:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None
