"""The receiver handle: start the webhook server on its own thread, read and wait for its events.

In a notebook::

    receiver = fbfailover.webhooks.start()           # stops the receiver a previous run of the cell started
    receiver.inbound_url, receiver.status_url        # → the application's Inbound URL and Status URL
    report = receiver.wait_for("final_report", dispatch_uuid=uuid, timeout=30)
    report = await receiver.await_for("final_report", dispatch_uuid=uuid)  # same, kernel stays free
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from fbfailover.webhooks.intake import Intake
from fbfailover.webhooks.signature import DEFAULT_MAX_AGE, SMS_SIGNATURE_METHODS
from fbfailover.webhooks.source import EventSource
from fbfailover.webhooks.store import DEFAULT_MAX_EVENTS, EventStore

if TYPE_CHECKING:
    from fbfailover.webhooks.eventlog import EventLog

__all__ = ["Receiver", "current", "start"]

_current: Receiver | None = None
_current_lock = threading.Lock()


class Receiver(EventSource):
    """A running webhook receiver: webhooks are pushed to a server in this process.

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
                 require_sms_signature: bool = False, event_log: EventLog | None = None,
                 log_credentials: tuple[str, str] | None = None):
        from fbfailover.background import serve
        from fbfailover.webhooks.app import DISCARD_LIMIT, MAX_BODY, MAX_HEADERS, make_app

        if port:
            _check_free(host, port)
        intake = Intake(EventStore(max_events, events_file), signature_secret or None, max_age,
                        api_key=api_key or None, sms_signature_methods=tuple(sms_signature_methods),
                        require_sms_signature=require_sms_signature)
        self.event_log = event_log
        # the routes answer bodies past MAX_BODY with 413 themselves; the server's limits bound every other route
        self._server = serve(make_app(intake, event_log, log_credentials), host, port, name="fbfailover-receiver",
                             max_body_size=DISCARD_LIMIT * MAX_BODY, max_header_size=MAX_HEADERS)
        self.port = self._server.port
        self.local_url = self._server.url
        super().__init__(public_url or self.local_url, intake, running=lambda: self._server.running,
                         stop=self._server.stop)

    # -- lifecycle --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop the server and the store's worker; safe to call twice."""
        global _current
        super().stop()
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
    body with a fresh ``iat`` (real wall-clock seconds, within ``max_age``): a bad or stale one is answered 401,
    a missing one 503 (Vonage retries it, signed), and either is recorded in ``receiver.rejections``, never
    stored. The two account-level SMS routes also take the SMS API's ``sig`` parameter, and accept an SMS API
    callback that carries no signature at all as ``signature="unverified"`` unless ``require_sms_signature``.
    Each route takes only its own kind of webhook (400 otherwise), and a body over 32 KiB gets 413 (see
    ``fbfailover.webhooks.intake`` and ``fbfailover.webhooks.app``).

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
        require_sms_signature: refuse unsigned SMS API callbacks (401) instead of marking them unverified
            (an unverified event is shown but never drives a step: ``wait_for(..., verified=True)``).

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
