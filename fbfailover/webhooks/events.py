"""What a webhook is: the ``Event`` record and the pure functions that classify a body.

Three kinds of event reach a Messages/Dispatch application:

- ``"inbound"``: a message a user sent to you (Messenger, SMS...), on the Inbound URL;
- ``"status"``: the status of one message you sent (``submitted``, ``delivered``, ``read``, ``rejected``,
  ``undeliverable``), on the Status URL. Dispatch adds a link to its dispatch (``_links.dispatch`` as observed
  live, ``_links.workflow`` in the published spec), Messages API v1 failover adds ``workflow``;
- ``"final_report"``: the one summary a dispatch sends when it is over (``completed`` or ``error``), on the
  Status URL too.

Bodies come in three shapes (Messages v0.1 / Dispatch, Messages API v1, the SMS API's): ``shapes.py`` reads
them, and every field of an ``Event`` is filled from it, so nothing downstream looks into a body itself.
Everything here is a pure function of the route and the parsed body, so it is tested without a server.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from fbfailover.channels import FAILED, V1_FAILS_OVER_ON
from fbfailover.webhooks import shapes

__all__ = [
    "FAILED",
    "KINDS",
    "ROUTES",
    "SENT_AT_HEADER",
    "STATUS_ORDER",
    "Event",
    "classify",
    "dedupe_key",
    "make_event",
    "parse_timestamp",
    "v1_items",
    "v1_outcome",
]

KINDS = ("inbound", "status", "final_report")

# Route -> the kind a body of unknown shape defaults to. The first two are the application's webhooks
# (Messages and Dispatch application), the last two the account-level SMS webhooks of the tutorial.
ROUTES: dict[str, str] = {
    "/webhooks/inbound": "inbound",
    "/webhooks/status": "status",
    "/webhooks/inbound-sms": "inbound",
    "/webhooks/delivery-receipt": "status",
}

SENT_AT_HEADER = "X-Fbfailover-Sent-At"
"""Optional request header: the sender's real epoch seconds when it handed the webhook to its HTTP client."""

# Where each message status stands in a message's life: statuses of the same moment sort by it.
STATUS_ORDER: dict[str, int] = {"submitted": 0, "delivered": 1, "rejected": 1, "undeliverable": 1, "failed": 1,
                                "read": 2}
SUCCEEDED = ("delivered", "read")
SIGNATURES = ("verified", "unverified", "unchecked", "absent")
"""What ``Event.signature`` can say (see ``Event``)."""


@dataclass(eq=False)
class Event:
    """One accepted webhook.

    ``body`` is the parsed JSON (or form fields) exactly as received; the other fields are read from it by
    ``shapes`` whatever its shape (``version`` says which: ``"v0.1"``, ``"v1"`` or ``"sms"``).
    ``sender_id`` / ``recipient_id`` are who sent the message and who it went to (inbound: the user and your
    Page or number; status: your Page or number and the user). ``item_number`` / ``items_total`` place a
    Messages API v1 status in its failover workflow.
    ``seq`` (1, 2, ...) and ``received_at`` (wall-clock epoch seconds when the event entered the store) are
    set by the store; ``deliveries`` counts redeliveries that were recognised as duplicates of this event.
    ``signature`` is ``"verified"`` (checked against the signature secret), ``"unverified"`` (unsigned, on an
    SMS API route, although the receiver has a secret: see ``webhooks.intake``), ``"unchecked"`` (signed, but the
    receiver has no secret) or ``"absent"`` (unsigned, no secret). ``timestamp`` is the webhook's own
    ``timestamp`` field: with the sandbox it carries *simulated* time. ``sent_at`` is the sender's real
    wall-clock time from an ``X-Fbfailover-Sent-At`` header, when it sends one (for latency measurements).
    """

    kind: str
    route: str
    body: Any
    channel: str | None = None
    status: str | None = None
    message_uuid: str | None = None
    dispatch_uuid: str | None = None
    workflow_id: str | None = None
    error: dict[str, Any] | None = None
    timestamp: str | None = None
    signature: str = "absent"
    claims: dict[str, Any] | None = None
    seq: int = 0
    received_at: float = 0.0
    deliveries: int = 1
    sent_at: float | None = None
    key: tuple[Any, ...] | None = field(default=None, repr=False)
    version: str | None = None
    sender_id: str | None = None
    recipient_id: str | None = None
    text: str | None = None
    item_number: int | None = None
    items_total: int | None = None

    @cached_property
    def time(self) -> dt.datetime | None:
        """The webhook's ``timestamp`` as an aware datetime, or None when absent or unreadable (parsed once:
        the feed and the timeline sort by it on every webhook)."""
        return parse_timestamp(self.timestamp)

    @property
    def verified(self) -> bool:
        """True when the webhook's signature was checked against the signature secret."""
        return self.signature == "verified"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (used for the JSON-lines file)."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "route": self.route,
            "received_at": self.received_at,
            "version": self.version,
            "channel": self.channel,
            "status": self.status,
            "message_uuid": self.message_uuid,
            "dispatch_uuid": self.dispatch_uuid,
            "workflow_id": self.workflow_id,
            "item_number": self.item_number,
            "items_total": self.items_total,
            "sender_id": self.sender_id,
            "recipient_id": self.recipient_id,
            "text": self.text,
            "error": self.error,
            "timestamp": self.timestamp,
            "signature": self.signature,
            "deliveries": self.deliveries,
            "sent_at": self.sent_at,
            "body": self.body,
        }

    def summary(self) -> str:
        """One short line: kind, channel, status (no ids)."""
        parts = [self.kind]
        if self.channel:
            parts.append(self.channel)
        if self.status:
            parts.append(self.status)
        return " ".join(parts)


def classify(route: str, body: Any) -> str:
    """Return the kind of a webhook body: ``"inbound"``, ``"status"`` or ``"final_report"``.

    The shape decides; the route only breaks ties for bodies of unknown shape (a status and a final report
    arrive on the same Status URL, and Vonage never says which is which).

    Args:
        route: the path the webhook was posted to, e.g. ``/webhooks/status``.
        body: the parsed body.
    """
    if isinstance(body, shapes.MAPPING):
        if shapes.is_final_report(body):
            return "final_report"
        if body.get("status") is not None and (
            body.get("message_uuid") is not None or body.get("messageId") is not None
        ):
            return "status"
        if body.get("message") is not None or body.get("text") is not None or body.get("message_type"):
            return "inbound"
        if body.get("status") is not None:
            return "status"
    return ROUTES.get(route, "inbound")


def parse_timestamp(value: Any) -> dt.datetime | None:
    """Parse a webhook timestamp (ISO-8601 with ``Z``, or the SMS API's ``YYYY-MM-DD HH:MM:SS``) to UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def make_event(route: str, body: Any, *, signature: str = "absent",
               claims: Mapping[str, Any] | None = None) -> Event:
    """Classify ``body`` and read its fields into an ``Event`` (``seq`` and ``received_at`` left unset).

    Args:
        route: the path the webhook was posted to.
        body: the parsed body, of any shape.
        signature: one of ``SIGNATURES``.
        claims: the verified JWT claims, if any.

    Returns:
        The event, with its dedupe ``key`` set.
    """
    kind = classify(route, body)
    read = shapes.fields(body)
    position = read.workflow
    event = Event(
        kind=kind,
        route=route,
        body=body,
        version=read.version,
        channel=None if kind == "final_report" else read.channel,
        status=read.status,
        message_uuid=read.message_uuid,
        dispatch_uuid=read.dispatch_uuid,
        workflow_id=position.id if position else None,
        item_number=position.item_number if position else None,
        items_total=position.items_total if position else None,
        sender_id=read.sender_id,
        recipient_id=read.recipient_id,
        text=read.text if kind == "inbound" else None,
        error=read.error,
        timestamp=read.timestamp,
        signature=signature,
        claims=dict(claims) if claims else None,
    )
    event.key = dedupe_key(event)
    return event


def dedupe_key(event: Event) -> tuple[Any, ...] | None:
    """The identity of a webhook across redeliveries, or None when it has none.

    A status is the same when message, status and timestamp match; a final report when dispatch, status
    and timestamp match; an inbound message when its message id matches. A body without an id is the same
    as an identical body of the same kind. An empty body has no identity.
    """
    if event.kind == "status" and event.message_uuid:
        return ("status", event.message_uuid, event.status, event.timestamp)
    if event.kind == "final_report" and event.dispatch_uuid:
        return ("final_report", event.dispatch_uuid, event.status, event.timestamp)
    if event.kind == "inbound" and event.message_uuid:
        return ("inbound", event.message_uuid)
    if isinstance(event.body, Mapping) and event.body:
        return (event.kind, "body", json.dumps(event.body, sort_keys=True, default=str))
    return None


def v1_items(events: list[Any]) -> tuple[dict[int, set[str]], int | None]:
    """The statuses seen for each item of a Messages API v1 workflow, and how many items it has.

    Args:
        events: status events of one workflow (anything with ``.status`` and ``.body``); events without a
            ``workflow.item_number`` are ignored.

    Returns:
        ``({item_number: {statuses}}, items_total)``; the total is the largest announced (None if none was).
    """
    by_item: dict[int, set[str]] = {}
    total: int | None = None
    for event in events:
        position = shapes.workflow_position(event.body)
        if position is None or position.item_number is None:
            continue
        by_item.setdefault(position.item_number, set()).add(event.status or "")
        if position.items_total is not None:
            total = max(total or 0, position.items_total)
    return by_item, total


def v1_outcome(events: list[Any]) -> str | None:
    """How a Messages API v1 failover workflow ended: ``"delivered"``, ``"failed"``, or None while unsettled.

    v1 has no final report and fails over only when a message is rejected. The workflow is over when a message is
    delivered (or read) and every message before it was rejected, when a message failed otherwise (an
    ``undeliverable`` one is not failed over), or when every message failed. Only results count: a ``rejected``
    needs no ``submitted`` before it (a message can be refused at once), and the webhooks may arrive in any order.

    Args:
        events: status events of one workflow (others are ignored by their missing ``workflow``); the total is
            ``workflow.items_total`` (or ``total_items``), an integer or a numeric string.

    Returns:
        ``"delivered"``, ``"failed"`` or None.
    """
    by_item, total = v1_items(events)
    last = total if total is not None else max(by_item, default=0)
    for number in range(1, last + 1):
        seen = by_item.get(number, set())
        if seen & set(SUCCEEDED):
            return "delivered"
        if not seen & set(FAILED):
            return None
        if not seen & set(V1_FAILS_OVER_ON):
            return "failed"  # failed without a rejection: nothing more is sent
    return "failed" if total else None
