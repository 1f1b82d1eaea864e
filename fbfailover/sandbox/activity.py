"""What each account has done lately, for the instructor's workshop dashboard: one small record per account.

The record holds the steps of the tutorial the account has reached (application created, JWT accepted,
inbound received, dispatch sent, final report, v1 failover sent), the last error the sandbox answered it and
the real time of its last request. Nothing here is persisted: a restarted sandbox starts with empty records,
which only the dashboard reads. Memory is bounded: at most ``limit`` records, the least recently active
account's record is dropped first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STEPS", "Activity", "Record"]

#: The tutorial's steps in the order a learner meets them; each is recorded where it happens.
STEPS = ("application", "jwt", "inbound", "dispatch", "final_report", "v1_failover")


@dataclass
class Record:
    """One account's activity: real (wall clock) times, not the sandbox's simulated time."""

    steps: dict[str, float] = field(default_factory=dict)
    final_status: str | None = None
    last_request: float | None = None
    requests: int = 0
    last_error: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        """The record as JSON: every step as a flag and the time it was first reached (``None`` if not yet).

        Returns:
            ``steps``, ``step_times``, ``final_status``, ``last_request``, ``requests`` and ``last_error``.
        """
        return {
            "steps": {name: name in self.steps for name in STEPS},
            "step_times": {name: self.steps.get(name) for name in STEPS},
            "final_status": self.final_status,
            "last_request": self.last_request,
            "requests": self.requests,
            "last_error": dict(self.last_error) if self.last_error else None,
        }


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

    def request(self, account_id: int, status: int, title: str | None = None) -> None:
        """Note a request answered for ``account_id``; a 4xx/5xx answer becomes its last error.

        Args:
            account_id: the account the request acted for (or claimed to).
            status: the HTTP status answered.
            title: the problem title of an error answer.
        """
        record = self._record(account_id)
        at = self.now()
        record.last_request = at
        record.requests += 1
        if status >= 400:
            record.last_error = {"status": status, "title": title or "", "at": at}

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
