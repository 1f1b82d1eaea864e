"""One event API for the notebooks, whatever brings the webhooks: ``EventSource``.

The feed, the timeline, ``wait_for``/``await_for`` and the tutorial's ``follow_*`` read an ``EventSource``. Its
transports only move bytes into the same ``Intake`` (signature checks) and ``EventStore`` (dedupe, bounds):

- ``Receiver`` (``receiver.py``): webhooks are pushed to a server in this process (a local mock, the manual-clock
  sandbox of step 04, the tests);
- ``StreamSource`` (``stream.py``): this process connects *out* and pulls them from a sandbox's mailbox (the
  project's own sandbox, the offline default, which every kernel of the project reads; a workshop's on Binder,
  JupyterHub or laptops) or from the project's one receiver process (live mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fbfailover.webhooks.events import Event
from fbfailover.webhooks.intake import Intake
from fbfailover.webhooks.store import EventStore, Rejection, Stats, matcher, timeout_error

T = TypeVar("T")

__all__ = ["EventSource"]


class EventSource:
    """Webhook events of one account, stored, verified and waited for.

    Attributes:
        url: the base URL the handed-out webhook URLs are built on.
        store: the ``EventStore`` behind ``events``/``wait_for``.
        intake: the signature settings every webhook is checked with.
    """

    def __init__(self, url: str, intake: Intake, *, running: Callable[[], bool],
                 stop: Callable[[], None]):
        self.url = url.rstrip("/")
        self.intake = intake
        self.store: EventStore = intake.store
        self.signature_secret = intake.signature_secret
        self.api_key = intake.api_key
        self._running = running
        self._stop_transport = stop
        #: The real time ``stop()`` was first called (None while the stream runs): live views say it.
        self.stopped_at: float | None = None
        self._stop_callbacks: list[Callable[[], None]] = []

    # -- URLs -------------------------------------------------------------------------------------
    @property
    def inbound_url(self) -> str:
        """The application's Inbound URL."""
        return self.url + "/webhooks/inbound"

    @property
    def status_url(self) -> str:
        """The application's Status URL (message statuses and dispatch final reports)."""
        return self.url + "/webhooks/status"

    @property
    def inbound_sms_url(self) -> str:
        """The account-level "Inbound Message" webhook URL."""
        return self.url + "/webhooks/inbound-sms"

    @property
    def delivery_receipt_url(self) -> str:
        """The account-level "Delivery Receipt" webhook URL (status webhooks of Basic-auth requests)."""
        return self.url + "/webhooks/delivery-receipt"

    @property
    def urls(self) -> dict[str, str]:
        """Every handed-out URL by name."""
        return {"inbound_url": self.inbound_url, "status_url": self.status_url,
                "inbound_sms_url": self.inbound_sms_url, "delivery_receipt_url": self.delivery_receipt_url}

    # -- state ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """True until ``stop()``."""
        return self._running()

    @property
    def signatures(self) -> str:
        """``"verified"`` with a signature secret, else ``"not checked"``."""
        return "verified" if self.signature_secret else "not checked"

    @property
    def notices(self) -> list[str]:
        """Things said once, e.g. that unsigned webhooks are being accepted."""
        return list(self.intake.notices)

    @property
    def stats(self) -> Stats:
        """Counters: accepted, duplicates, rejected, dropped."""
        return self.store.stats

    @property
    def rejections(self) -> list[Rejection]:
        """Refused webhooks, oldest first (route, reason, HTTP status)."""
        return self.store.rejections

    @property
    def last_seq(self) -> int:
        """``seq`` of the newest event; pass as ``after=`` to wait only for later events."""
        return self.store.last_seq

    def events(self, kind: str | None = None, dispatch_uuid: str | None = None,
               **filters: Any) -> list[Event]:
        """Stored events in arrival order, optionally filtered by kind, dispatch and ``status``/``channel``/
        ``message_uuid``/``verified``."""
        return self.store.events(kind, dispatch_uuid, **filters)

    def subscribe(self, callback: Callable[[Any], None], *, rejections: bool = False,
                  on_batch_end: Callable[[], None] | None = None) -> Callable[[], None]:
        """Call ``callback(event)`` for every new event (off the request path); returns an unsubscribe.

        ``on_batch_end()`` is called after each batch of events handed over together (``EventStore.subscribe``)."""
        return self.store.subscribe(callback, rejections=rejections, on_batch_end=on_batch_end)

    # -- waiting ----------------------------------------------------------------------------------
    def wait_for(self, kind: str | None = None, *, dispatch_uuid: str | None = None,
                 status: str | None = None, channel: str | None = None, message_uuid: str | None = None,
                 predicate: Callable[[Event], bool] | None = None, timeout: float = 10.0,
                 after: int = 0, verified: bool | None = None) -> Event:
        """Block until an event matches (or one already has) and return the oldest match.

        Args:
            kind: ``"inbound"``, ``"status"`` or ``"final_report"``.
            dispatch_uuid, status, channel, message_uuid: further equality filters.
            predicate: any extra test on the ``Event``.
            timeout: seconds of real time to wait.
            after: only events with ``seq`` greater than this (see ``last_seq``).
            verified: True for events whose signature was checked only (what may drive a step), False for the others.

        Raises:
            WaitTimeout: when nothing matched in time; the message lists the events that arrived instead.
        """
        return self.store.wait_for(kind, dispatch_uuid=dispatch_uuid, status=status, channel=channel,
                                   message_uuid=message_uuid, predicate=predicate, timeout=timeout,
                                   after=after, verified=verified)

    def wait_until(self, predicate: Callable[[list[Event]], T | None], timeout: float, *, wanted: str = "",
                   tick: float | None = None, on_tick: Callable[[], None] | None = None) -> T:
        """Block until ``predicate(events)`` holds for the stored events and return what it returned.

        The one way to wait for a state of the events (a dispatch's end, a workflow's outcome): the predicate
        sees every stored event each time one arrives, and its first true result (an event, a non-empty
        list...) is returned. ``fbfailover.tutorial.follow`` builds the tutorial's waits on it.

        Args:
            predicate: a function of the events, in arrival order.
            timeout: seconds of real time to wait.
            wanted: what is waited for, for the error message.
            tick, on_tick: call ``on_tick()`` at least every ``tick`` seconds while waiting (progress).

        Raises:
            WaitTimeout: when the predicate did not hold within ``timeout``; the message lists what arrived.
        """
        return self.store.wait_until(predicate, timeout, wanted=wanted, tick=tick, on_tick=on_tick)

    async def await_for(self, kind: str | None = None, *, dispatch_uuid: str | None = None,
                        status: str | None = None, channel: str | None = None,
                        message_uuid: str | None = None,
                        predicate: Callable[[Event], bool] | None = None, timeout: float = 10.0,
                        after: int = 0, verified: bool | None = None) -> Event:
        """``wait_for`` for top-level ``await`` in a notebook: woken by each new event, never blocking the loop.

        Raises:
            WaitTimeout: as ``wait_for``.
        """
        match, wanted = matcher(kind, dispatch_uuid=dispatch_uuid, status=status, channel=channel,
                                message_uuid=message_uuid, predicate=predicate, verified=verified)
        loop = asyncio.get_running_loop()
        arrived = asyncio.Event()
        unsubscribe = self.store.subscribe(lambda _: loop.call_soon_threadsafe(arrived.set))
        deadline = loop.time() + timeout
        try:
            while True:
                arrived.clear()  # before looking: an event stored after the look sets it again
                found = self.store.find(match, after)
                if found is not None:
                    return found
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise timeout_error(wanted, timeout, self.store.events(), after)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(arrived.wait(), remaining)
        finally:
            unsubscribe()

    # -- lifecycle --------------------------------------------------------------------------------
    def on_stop(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback()`` once when this source is stopped (a live view then says so); returns an unsubscribe."""
        self._stop_callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._stop_callbacks:
                self._stop_callbacks.remove(callback)

        return unsubscribe

    def stop(self) -> None:
        """Stop the transport and the store's worker; safe to call twice."""
        self._stop_transport()
        self.store.close()
        if self.stopped_at is None:
            self.stopped_at = time.time()
            callbacks, self._stop_callbacks = self._stop_callbacks, []
            for callback in callbacks:
                try:
                    callback()
                except Exception as exc:  # a view's failure must not stop the others from hearing it
                    self.store.callback_errors.append(exc)

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
