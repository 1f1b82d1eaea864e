"""What each account has done lately, for the instructor's workshop dashboard: one small record per account.

The record holds the attendee's display name, the steps of the tutorial the account has reached (application
created, JWT accepted, inbound received, dispatch sent, final report, v1 failover sent), the last error the
sandbox answered it and the real time of its last request.

Errors the tutorial causes on purpose (an exercise's or the failure gallery's requests carry the header
``X-Fbfailover-On-Purpose``) are kept apart and are never trouble. An attendee is **stuck** when an error was
not followed by a success within ``STUCK_AFTER_ERROR`` seconds, or when nothing moved on (no success, no new
step) for ``STUCK_AFTER_IDLE`` seconds before every step was reached.

Nothing here is persisted: a restarted sandbox starts with empty records, which only the dashboard reads (a
kernel sends its display name again each time it connects). Memory is bounded: at most ``limit`` records, the
least recently active account's record is dropped first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ON_PURPOSE_HEADER", "STEPS", "STUCK_AFTER_ERROR", "STUCK_AFTER_IDLE", "Activity", "Record"]

#: The tutorial's steps in the order a learner meets them; each is recorded where it happens.
STEPS = ("application", "jwt", "inbound", "dispatch", "final_report", "v1_failover")
#: The request header that marks a request the tutorial sends to fail on purpose; its value says why.
ON_PURPOSE_HEADER = "X-Fbfailover-On-Purpose"
#: Seconds after an error with no success since, when an attendee counts as stuck.
STUCK_AFTER_ERROR = 180.0
#: Seconds without a success or a new step, before every step is reached, when an attendee counts as stuck.
STUCK_AFTER_IDLE = 600.0


@dataclass
class Record:
    """One account's activity: real (wall clock) times, not the sandbox's simulated time."""

    steps: dict[str, float] = field(default_factory=dict)
    final_status: str | None = None
    last_request: float | None = None
    requests: int = 0
    last_error: dict[str, Any] | None = None
    name: str | None = None
    #: When the account was created here (workshop join), the start of "no progress for a while".
    joined: float | None = None
    #: The last answer below 400 to an API request (control and inspection endpoints do not count).
    last_success: float | None = None
    #: The last error the tutorial caused on purpose (an exercise, the failure gallery): not trouble.
    last_on_purpose: dict[str, Any] | None = None

    def progress(self) -> float | None:
        """The real time the account last moved on: joined, a success, a new step or a failure on purpose."""
        times = [self.joined, self.last_success, *self.steps.values(),
                 self.last_on_purpose["at"] if self.last_on_purpose else None]
        known = [t for t in times if t is not None]
        return max(known) if known else None

    def stuck(self, now: float) -> str | None:
        """Why the attendee looks stuck at ``now`` (one short sentence), or ``None`` when they are not."""
        error = self.last_error
        if error and (self.last_success is None or self.last_success < error["at"]) \
                and now - error["at"] >= STUCK_AFTER_ERROR:
            return f"{error['status']} {error['title']} for {_minutes(now - error['at'])}, no success since"
        if all(step in self.steps for step in STEPS):
            return None
        moved = self.progress()
        if moved is not None and now - moved >= STUCK_AFTER_IDLE:
            return f"no progress for {_minutes(now - moved)}"
        return None

    def view(self, now: float | None = None) -> dict[str, Any]:
        """The record as JSON: every step as a flag and the time it was first reached (``None`` if not yet).

        Args:
            now: the real time ``stuck`` is judged at (default: the wall clock).

        Returns:
            ``name``, ``steps``, ``step_times``, ``final_status``, ``last_request``, ``requests``,
            ``last_error``, ``last_on_purpose``, ``stuck`` (a sentence or ``None``) and ``done`` (every step
            reached).
        """
        now = time.time() if now is None else now
        return {
            "name": self.name,
            "steps": {name: name in self.steps for name in STEPS},
            "step_times": {name: self.steps.get(name) for name in STEPS},
            "final_status": self.final_status,
            "last_request": self.last_request,
            "requests": self.requests,
            "last_error": dict(self.last_error) if self.last_error else None,
            "last_on_purpose": dict(self.last_on_purpose) if self.last_on_purpose else None,
            "stuck": self.stuck(now),
            "done": all(step in self.steps for step in STEPS),
        }


def _minutes(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes else f"{int(seconds)} s"


class Activity:
    """Per-account activity, kept in memory on the server's loop thread.

    Args:
        limit: the most records kept (one per account).
        now: the real-time clock (injectable for tests).
    """

    def __init__(self, limit: int = 10_000, now: Callable[[], float] = time.time):
        self.limit = limit
        self.now = now
        self._records: OrderedDict[int, Record] = OrderedDict()

    def _record(self, account_id: int) -> Record:
        record = self._records.get(account_id)
        if record is None:
            record = self._records[account_id] = Record()
            while len(self._records) > self.limit:
                self._records.popitem(last=False)
        else:
            self._records.move_to_end(account_id)
        return record

    def request(self, account_id: int, status: int, title: str | None = None, *, api: bool = True,
                on_purpose: str | None = None) -> None:
        """Note a request answered for ``account_id``; a 4xx/5xx answer becomes its last error.

        Args:
            account_id: the account the request acted for (authenticated: a refused login is no one's).
            status: the HTTP status answered.
            title: the problem title of an error answer.
            api: False for the sandbox's own endpoints (``/_sandbox/...``): their successes are no progress.
            on_purpose: why the tutorial sent a request that fails on purpose (``exercise``, ``gallery``): its
                error is kept apart from ``last_error`` and is never trouble.
        """
        record = self._record(account_id)
        at = self.now()
        record.last_request = at
        record.requests += 1
        if status >= 400:
            error = {"status": status, "title": title or "", "at": at}
            if on_purpose:
                record.last_on_purpose = {**error, "why": on_purpose[:20]}
            else:
                record.last_error = error
        elif api:
            record.last_success = at

    def joined(self, account_id: int, name: str | None = None) -> None:
        """Note that ``account_id`` was just created for an attendee (optionally with a display name)."""
        record = self._record(account_id)
        record.joined = self.now()
        if name:
            record.name = name

    def rename(self, account_id: int, name: str) -> None:
        """Set the display name of ``account_id`` (already checked with ``config.display_name``)."""
        self._record(account_id).name = name

    def step(self, account_id: int, name: str, status: str | None = None) -> None:
        """Note that ``account_id`` reached step ``name`` (one of ``STEPS``); the first time is kept.

        Args:
            account_id: the account.
            name: the step.
            status: for ``final_report``, the dispatch's final status (``completed`` or ``error``): the latest
                one is kept.

        Raises:
            ValueError: when ``name`` is not one of ``STEPS``.
        """
        if name not in STEPS:
            raise ValueError(f"unknown step {name!r}: one of {', '.join(STEPS)}")
        record = self._record(account_id)
        record.steps.setdefault(name, self.now())
        if status is not None:
            record.final_status = status

    def get(self, account_id: int) -> Record | None:
        """The record of ``account_id``, if it did anything since the sandbox started.

        Returns:
            The record, or ``None``.
        """
        return self._records.get(account_id)

    def __len__(self) -> int:
        return len(self._records)
