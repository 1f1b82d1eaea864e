"""The order and the pace webhook attempts go out in: one lane per dispatch, one queue per destination.

An attempt whose timer fell due joins its *lane* (its dispatch, or its message outside a dispatch): it waits
until the attempt before it in the lane has been made, so a receiver sees ``submitted`` before ``delivered`` and
the last status before the final report. Then it joins the queue of its *destination* (scheme, host and port of
its URL, or this sandbox's own mailboxes), where at most ``per_host`` workers take attempts one at a time: a
destination that hangs holds its own workers and connections, never another's.

Waiting attempts are plain records in a queue, not tasks: a backlog costs little memory and nothing to the
loop, and each loop iteration runs at most ``per_host`` attempts per destination, so a request never waits
behind a whole batch of webhooks. Attempts to a mailbox await no network, so their worker lets the loop serve
requests after each one.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Job", "Outbox"]


@dataclass
class Job:
    """One attempt of one delivery, waiting for its turn.

    Attributes:
        delivery_id: the delivery to attempt.
        lane: its dispatch or message (attempts of one lane are made one after another).
        destination: its queue (``scheme://host:port``, or the mailbox).
        at: the simulated time its timer fell due.
        local: True when no network is involved (a mailbox): the worker yields to the loop after it.
        done: settled once the attempt has been made (or will not be: the outbox closed).
    """

    delivery_id: int
    lane: str
    destination: str
    at: float
    local: bool
    done: asyncio.Future


class Outbox:
    """Lanes, destination queues and their workers, on the server's loop.

    Args:
        attempt: makes one attempt (records its outcome); never raises for a failed delivery.
        per_host: workers (so connections) at most per destination.
    """

    def __init__(self, attempt: Callable[[Job], Awaitable[None]], per_host: int):
        self._attempt = attempt
        self.per_host = per_host
        self._lanes: dict[str, deque[Job]] = {}  # lane -> jobs behind the one under way (present meanwhile)
        self._queues: dict[str, deque[Job]] = {}  # destination -> jobs whose turn has come
        self._workers: dict[str, int] = {}  # destination -> workers running
        self._running: set[asyncio.Task] = set()
        self._closed = False

    def put(self, job: Job) -> asyncio.Future:
        """Queue ``job`` behind its lane; returns ``job.done``."""
        behind = self._lanes.get(job.lane)
        if behind is None:
            self._lanes[job.lane] = deque()
            self._queue(job)
        else:
            behind.append(job)
        return job.done

    def busy(self, destination: str) -> int:
        """Workers (so attempts under way) of ``destination``."""
        return self._workers.get(destination, 0)

    def _queue(self, job: Job) -> None:
        """The job's turn in its lane has come: queue it for its destination, with a worker if one is free."""
        if self._closed:
            _settle(job.done)
            return
        queue = self._queues.get(job.destination)
        if queue is None:
            queue = self._queues[job.destination] = deque()
        queue.append(job)
        workers = self._workers.get(job.destination, 0)
        if workers < self.per_host:
            self._workers[job.destination] = workers + 1
            task = asyncio.ensure_future(self._work(job.destination, queue))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _work(self, destination: str, queue: deque[Job]) -> None:
        """One worker of a destination: its queued jobs, one at a time, until none is left."""
        try:
            while queue:
                job = queue.popleft()
                try:
                    await self._attempt(job)
                finally:
                    _settle(job.done)
                    self._next_in_lane(job.lane)
                if job.local:
                    await asyncio.sleep(0)  # nothing was awaited: let the loop serve requests in between
        finally:
            self._workers[destination] -= 1
            if not self._workers[destination]:
                del self._workers[destination]
                if not queue and self._queues.get(destination) is queue:
                    del self._queues[destination]

    def _next_in_lane(self, lane: str) -> None:
        behind = self._lanes.get(lane)
        if behind:
            self._queue(behind.popleft())
        else:
            self._lanes.pop(lane, None)

    async def close(self, timeout: float) -> None:
        """Make no more attempts; wait ``timeout`` seconds at most for those under way, then cancel them."""
        self._closed = True
        for jobs in (*self._queues.values(), *self._lanes.values()):
            for job in jobs:
                _settle(job.done)
            jobs.clear()
        if self._running:
            _, pending = await asyncio.wait(list(self._running), timeout=timeout)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)


def _settle(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)
