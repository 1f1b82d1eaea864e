"""Webhooks into the notebook: one event API (``EventSource``) over two transports, signature checks, a store.

- ``Receiver`` (``start()``): a tornado server on its own thread and loop; Vonage (or a sandbox) pushes to it.
- ``StreamSource``: this process connects out and pulls its account's webhooks from a server's event stream (the
  mailbox of the project's sandbox or of a shared workshop sandbox, or the project's one live-mode receiver).

Both hand every webhook to the same ``Intake`` (signature checks) and ``EventStore`` (dedupe, bounds); every
webhook, of any shape (``shapes`` reads v0.1, v1 and SMS API bodies), becomes an ``Event`` that can be listed,
waited for, awaited and subscribed to.
This package imports no widget code: the live views are in ``fbfailover.widgets``.
"""

from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import (
    FAILED,
    KINDS,
    ROUTES,
    SENT_AT_HEADER,
    SIGNATURES,
    STATUS_ORDER,
    SUCCEEDED,
    Event,
    classify,
    dedupe_key,
    make_event,
    parse_timestamp,
    v1_items,
    v1_outcome,
)
from fbfailover.webhooks.intake import Intake
from fbfailover.webhooks.receiver import Receiver, current, start
from fbfailover.webhooks.signature import SignatureError, payload_hash, verify_signed_webhook
from fbfailover.webhooks.source import EventSource
from fbfailover.webhooks.store import EventStore, Rejection, Stats, WaitTimeout
from fbfailover.webhooks.stream import StreamSource

__all__ = [
    "FAILED",
    "KINDS",
    "ROUTES",
    "SENT_AT_HEADER",
    "SIGNATURES",
    "STATUS_ORDER",
    "SUCCEEDED",
    "Event",
    "EventSource",
    "EventStore",
    "Intake",
    "Receiver",
    "Rejection",
    "SignatureError",
    "Stats",
    "StreamSource",
    "WaitTimeout",
    "classify",
    "current",
    "dedupe_key",
    "make_event",
    "parse_timestamp",
    "payload_hash",
    "shapes",
    "start",
    "v1_items",
    "v1_outcome",
    "verify_signed_webhook",
]
