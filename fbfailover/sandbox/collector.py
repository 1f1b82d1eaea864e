"""Garbage collection paced by the clock while a sandbox runs: frequent short pauses instead of rare long ones.

CPython collects its youngest generation once allocations outnumber deallocations by a threshold. Under load the
sandbox frees old documents about as fast as it makes new ones, so that count grows slowly while the young
generation fills up with everything made in the last second or so: each collection then scanned tens of
thousands of objects and paused the loop for 7-40 ms, the worst latencies of all. While a sandbox runs, a thread
collects the young generation every ``YOUNG_EVERY`` real seconds (about a millisecond under load), the middle one
every ``MIDDLE_EVERY`` of those and all of them every ``FULL_EVERY``; the automatic thresholds are raised so that
they seldom add collections of their own. The sandbox's documents hold no cycles (reference counting frees them):
the collections are for the cycles that other code leaves behind.
"""

from __future__ import annotations

import gc
import threading

__all__ = ["FULL_EVERY", "MIDDLE_EVERY", "THRESHOLDS", "YOUNG_EVERY", "pacer"]

YOUNG_EVERY = 0.02  # real seconds
MIDDLE_EVERY = 500  # young collections (10 s)
FULL_EVERY = 3000  # young collections (60 s)
THRESHOLDS = (5000, 20, 100)


class _Pacer:
    """Shared by every sandbox of the process: runs from the first ``acquire`` to the last ``release``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._previous: tuple[int, ...] = gc.get_threshold()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._users > 1:
                return
            self._previous = gc.get_threshold()
            gc.set_threshold(*(max(a, b) for a, b in zip(THRESHOLDS, self._previous, strict=True)))
            self._stop = threading.Event()
            self._thread = threading.Thread(target=_collect, args=(self._stop,), name="sandbox-gc", daemon=True)
            self._thread.start()

    def release(self) -> None:
        with self._lock:
            if self._users == 0:
                return
            self._users -= 1
            if self._users > 0:
                return
            self._stop.set()
            gc.set_threshold(*self._previous)
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()


def _collect(stop: threading.Event) -> None:
    made = 0
    while not stop.wait(YOUNG_EVERY):
        made += 1
        gc.collect(2 if made % FULL_EVERY == 0 else 1 if made % MIDDLE_EVERY == 0 else 0)


pacer = _Pacer()
