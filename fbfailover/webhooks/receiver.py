"""The receiver handle: start the webhook server on its own thread, read and wait for its events.

In a notebook::

    receiver = fbfailover.webhooks.start()           # stops the receiver a previous run of the cell started
    receiver.inbound_url, receiver.status_url        # → the application's Inbound URL and Status URL
    report = receiver.wait_for("final_report", dispatch_uuid=uuid, timeout=30)
    report = await receiver.await_for("final_report", dispatch_uuid=uuid)  # same, kernel stays free
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fbfailover.webhooks.events import Event
from fbfailover.webhooks.signature import DEFAULT_MAX_AGE, SMS_SIGNATURE_METHODS
from fbfailover.webhooks.store import DEFAULT_MAX_EVENTS, EventStore, Rejection, Stats, matcher, timeout_error

__all__ = ["Receiver", "current", "start"]

_current: Receiver | None = None
_current_lock = threading.Lock()


class Receiver:
    """A running webhook receiver.

    Attributes:
        url: base URL handed out (``public_url`` when given, else ``http://127.0.0.1:PORT``).
        local_url: where the server listens on this machine.
        inbound_url, status_url: the application's webhook URLs.
        inbound_sms_url, delivery_receipt_url: the account-level webhook URLs of the tutorial.
        signature_secret: the secret webhooks are verified with, or None (unsigned webhooks accepted).
        api_key: the account's API key when known (a signed webhook's ``api_key`` claim must name it).
        store: the ``EventStore`` behind ``events``/``wait_for``.
    """

    def __init__(self, port: int = 0, signature_secret: str | None = None, public_url: str | None = None, *,
                 host: str = "127.0.0.1", max_events: int = DEFAULT_MAX_EVENTS,
                 events_file: str | Path | None = None, max_age: float = DEFAULT_MAX_AGE,
                 api_key: str | None = None, sms_signature_methods: tuple[str, ...] = SMS_SIGNATURE_METHODS,
                 require_sms_signature: bool = False):
        from fbfailover.background import serve
        from fbfailover.webhooks.app import ReceiverState, make_app

        if port:
            _check_free(host, port)
        self.signature_secret = signature_secret or None
        self.api_key = api_key or None
        self.store = EventStore(max_events, events_file)
        self._state = ReceiverState(self.store, self.signature_secret, max_age, api_key=self.api_key,
                                    sms_signature_methods=tuple(sms_signature_methods),
                                    require_sms_signature=require_sms_signature)
        self._server = serve(make_app(self._state), host, port, name="fbfailover-receiver")
        self.port = self._server.port
        self.local_url = self._server.url
        self.url = (public_url or self.local_url).rstrip("/")

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
        return self._server.running

    @property
    def signatures(self) -> str:
        """``"verified"`` with a signature secret, else ``"not checked"``."""
        return "verified" if self.signature_secret else "not checked"

    @property
    def notices(self) -> list[str]:
        """Things said once, e.g. that unsigned webhooks are being accepted."""
        return list(self._state.notices)

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
        ``message_uuid``."""
        return self.store.events(kind, dispatch_uuid, **filters)

    def subscribe(self, callback: Callable[[Any], None], *, rejections: bool = False) -> Callable[[], None]:
        """Call ``callback(event)`` for every new event (off the request path); returns an unsubscribe."""
        return self.store.subscribe(callback, rejections=rejections)

    # -- waiting ----------------------------------------------------------------------------------
    def wait_for(self, kind: str | None = None, *, dispatch_uuid: str | None = None,
                 status: str | None = None, channel: str | None = None, message_uuid: str | None = None,
                 predicate: Callable[[Event], bool] | None = None, timeout: float = 10.0,
                 after: int = 0) -> Event:
        """Block until an event matches (or one already has) and return the oldest match.

        Args:
            kind: ``"inbound"``, ``"status"`` or ``"final_report"``.
            dispatch_uuid, status, channel, message_uuid: further equality filters.
            predicate: any extra test on the ``Event``.
            timeout: seconds of real time to wait.
            after: only events with ``seq`` greater than this (see ``last_seq``).

        Raises:
            WaitTimeout: when nothing matched in time; the message lists the events that arrived instead.
        """
        return self.store.wait_for(kind, dispatch_uuid=dispatch_uuid, status=status, channel=channel,
                                   message_uuid=message_uuid, predicate=predicate, timeout=timeout,
                                   after=after)

    async def await_for(self, kind: str | None = None, *, dispatch_uuid: str | None = None,
                        status: str | None = None, channel: str | None = None,
                        message_uuid: str | None = None,
                        predicate: Callable[[Event], bool] | None = None, timeout: float = 10.0,
                        after: int = 0, poll: float = 0.02) -> Event:
        """``wait_for`` for top-level ``await`` in a notebook: polls with ``asyncio.sleep``, never blocking.

        Raises:
            WaitTimeout: as ``wait_for``.
        """
        match, wanted = matcher(kind, dispatch_uuid=dispatch_uuid, status=status, channel=channel,
                                message_uuid=message_uuid, predicate=predicate)
        deadline = time.monotonic() + timeout
        while True:
            found = self.store.find(match, after)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise timeout_error(wanted, timeout, self.store.events(), after)
            await asyncio.sleep(poll)

    # -- lifecycle --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the server and the store's worker; safe to call twice."""
        global _current
        self._server.stop()
        self.store.close()
        with _current_lock:
            if _current is self:
                _current = None

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return (f"Receiver(url={self.url!r}, {state}, signatures {self.signatures}, "
                f"{self.stats.accepted} events)")


def _check_free(host: str, port: int) -> None:
    """Raise OSError when ``host:port`` is taken (probing first: tornado leaks its socket when bind fails)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def current() -> Receiver | None:
    """The receiver ``start()`` last started in this process, if it still runs."""
    return _current


def start(port: int = 0, signature_secret: str | None = None, public_url: str | None = None, *,
          host: str = "127.0.0.1", max_events: int = DEFAULT_MAX_EVENTS,
          events_file: str | Path | None = None, max_age: float = DEFAULT_MAX_AGE,
          replace: bool = True, api_key: str | None = None,
          sms_signature_methods: tuple[str, ...] = SMS_SIGNATURE_METHODS,
          require_sms_signature: bool = False) -> Receiver:
    """Start a webhook receiver on its own thread and event loop and return its handle.

    Re-running a notebook cell that calls ``start()`` stops the receiver the previous run started (pass
    ``replace=False`` to keep both). Without ``signature_secret`` unsigned webhooks are accepted and
    ``receiver.notices`` says so once; with it, every webhook must carry a valid HS256 signature of its exact
    body with a fresh ``iat`` (real wall-clock seconds, within ``max_age``), or it is answered 401 and
    recorded in ``receiver.rejections``. The two account-level SMS routes also take the SMS API's ``sig``
    parameter, and accept an SMS callback that carries no signature at all as ``signature="unverified"``
    unless ``require_sms_signature`` (see ``fbfailover.webhooks.app``).

    Args:
        port: TCP port on ``host``; 0 picks a free one.
        signature_secret: the account's signature secret, or None.
        public_url: the public base URL (a tunnel to this port) the handed-out URLs are built on.
        host: interface to bind (loopback by default).
        max_events: events kept in memory; older ones are dropped and counted.
        events_file: optional JSON-lines file every accepted event is appended to.
        max_age: oldest accepted ``iat``, in real seconds.
        replace: stop the receiver a previous ``start()`` in this process left running.
        api_key: the account's API key; a JWT whose ``api_key`` claim names another is answered 401.
        sms_signature_methods: the SMS API signature methods accepted (default: all five, since the
            account's dashboard setting is not known here).
        require_sms_signature: refuse unsigned SMS API callbacks (401) instead of marking them unverified.

    Returns:
        The running ``Receiver``.
    """
    global _current
    with _current_lock:
        previous = _current if replace else None
    if previous is not None:
        previous.stop()
    receiver = Receiver(port, signature_secret, public_url, host=host, max_events=max_events,
                        events_file=events_file, max_age=max_age, api_key=api_key,
                        sms_signature_methods=sms_signature_methods, require_sms_signature=require_sms_signature)
    with _current_lock:
        _current = receiver
    return receiver
