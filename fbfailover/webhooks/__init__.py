"""The local webhook receiver: inbound and status routes, signature checks, an event store, ``wait_for``.

``start()`` runs a tornado server on its own thread and loop and returns a ``Receiver`` whose URLs go into the
application (or the account settings); every webhook, of any shape (``shapes`` reads v0.1, v1 and SMS API
bodies), becomes an ``Event`` that can be listed, waited for, awaited and subscribed to.
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
from fbfailover.webhooks.receiver import Receiver, current, start
from fbfailover.webhooks.signature import SignatureError, payload_hash, verify_signed_webhook
from fbfailover.webhooks.store import EventStore, Rejection, Stats, WaitTimeout

__all__ = [
    "FAILED",
    "KINDS",
    "ROUTES",
    "SENT_AT_HEADER",
    "SIGNATURES",
    "STATUS_ORDER",
    "SUCCEEDED",
    "Event",
    "EventStore",
    "Receiver",
    "Rejection",
    "SignatureError",
    "Stats",
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
