"""What a webhook is: the ``Event`` record and the pure functions that classify a body.

Three kinds of event reach a Messages/Dispatch application:

- ``"inbound"``: a message a user sent to you (Messenger, SMS...), on the Inbound URL;
- ``"status"``: the status of one message you sent (``submitted``, ``delivered``, ``read``, ``rejected``,
  ``undeliverable``), on the Status URL. Dispatch adds a link to its dispatch (``_links.dispatch`` as observed
  live, ``_links.workflow`` in the published spec), Messages API v1 failover adds ``workflow``;
- ``"final_report"``: the one summary a dispatch sends when it is over (``completed`` or ``error``), on the
  Status URL too.

Everything here is a pure function of the route and the parsed body, so it is tested without a server.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

__all__ = [
    "FAILED",
    "KINDS",
    "ROUTES",
    "SENT_AT_HEADER",
    "STATUS_ORDER",
    "Event",
    "classify",
    "dedupe_key",
    "item_number",
    "make_event",
    "parse_timestamp",
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

# Where each message status stands in a message's life: statuses of the same moment sort by it.
STATUS_ORDER: dict[str, int] = {"submitted": 0, "delivered": 1, "rejected": 1, "undeliverable": 1, "failed": 1,
                                "read": 2}
FAILED = ("rejected", "undeliverable", "failed")
"""Optional request header: the sender's real epoch seconds when it handed the webhook to its HTTP client."""


@dataclass(eq=False)
class Event:
    """One accepted webhook.

    ``body`` is the parsed JSON (or form fields) exactly as received; the other fields are extracted from it.
    ``seq`` (1, 2, ...) and ``received_at`` (wall-clock epoch seconds when the event entered the store) are
    set by the store; ``deliveries`` counts redeliveries that were recognised as duplicates of this event.
    ``signature`` is ``"verified"`` (checked against the signature secret), ``"unchecked"`` (signed, but the
    receiver has no secret) or ``"absent"`` (unsigned). ``timestamp`` is the webhook's own ``timestamp``
    field: with the sandbox it carries *simulated* time. ``sent_at`` is the sender's real wall-clock time
    from an ``X-Fbfailover-Sent-At`` header, when it sends one (for latency measurements).
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

    @cached_property
    def time(self) -> dt.datetime | None:
        """The webhook's ``timestamp`` as an aware datetime, or None when absent or unreadable (parsed once:
        the feed and the timeline sort by it on every webhook)."""
        return parse_timestamp(self.timestamp)

    @property
    def item_number(self) -> int | None:
        """The v1 ``workflow.item_number`` (1 for the first message of a failover workflow), else None."""
        return item_number(self.body)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (used for the JSON-lines file)."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "route": self.route,
            "received_at": self.received_at,
            "channel": self.channel,
            "status": self.status,
            "message_uuid": self.message_uuid,
            "dispatch_uuid": self.dispatch_uuid,
            "workflow_id": self.workflow_id,
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


def _get(body: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(part)
    return body


def _str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def classify(route: str, body: Any) -> str:
    """Return the kind of a webhook body: ``"inbound"``, ``"status"`` or ``"final_report"``.

    The shape decides; the route only breaks ties for bodies of unknown shape (a status and a final report
    arrive on the same Status URL, and Vonage never says which is which).

    Args:
        route: the path the webhook was posted to, e.g. ``/webhooks/status``.
        body: the parsed body.
    """
    if isinstance(body, Mapping):
        links = body.get("_links")
        has_messages_links = isinstance(links, Mapping) and isinstance(links.get("messages"), list)
        if body.get("template") is not None or has_messages_links or (
            body.get("dispatch_uuid") and not body.get("message_uuid")
        ):
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


def _channel(body: Mapping[str, Any], kind: str) -> str | None:
    if kind == "final_report":
        return None
    channel = body.get("channel")  # Messages API v1
    if isinstance(channel, str) and channel:
        return channel
    for side in ("to", "from"):  # Messages API v0.1 / Dispatch: {type, id|number}
        kind_of = _get(body, side, "type")
        if isinstance(kind_of, str) and kind_of:
            return kind_of
    if "msisdn" in body or "messageId" in body:  # SMS API webhooks
        return "sms"
    return None


def _dispatch_uuid(body: Mapping[str, Any]) -> str | None:
    for path in (
        ("_links", "dispatch", "dispatch_uuid"),  # observed live
        ("_links", "workflow", "dispatch_uuid"),  # published spec
        ("_links", "workflow", "workflow_uuid"),  # developer preview (2018)
        ("dispatch_uuid",),  # final report
    ):
        value = _str(_get(body, *path))
        if value:
            return value
    return None


def _error(body: Mapping[str, Any]) -> dict[str, Any] | None:
    error = body.get("error")
    if isinstance(error, Mapping):
        return dict(error)
    code = body.get("err-code")  # SMS API delivery receipt; "0" means no error
    if code not in (None, "", "0", 0):
        return {"code": code}
    return None


def make_event(route: str, body: Any, *, signature: str = "absent",
               claims: Mapping[str, Any] | None = None) -> Event:
    """Classify ``body`` and extract its fields into an ``Event`` (``seq`` and ``received_at`` left unset)."""
    kind = classify(route, body)
    if not isinstance(body, Mapping):
        return Event(kind=kind, route=route, body=body, signature=signature,
                     claims=dict(claims) if claims else None)
    workflow = body.get("workflow")
    event = Event(
        kind=kind,
        route=route,
        body=body,
        channel=_channel(body, kind),
        status=_str(body.get("status")),
        message_uuid=_str(body.get("message_uuid") or body.get("messageId")),
        dispatch_uuid=_dispatch_uuid(body),
        workflow_id=_str(workflow.get("id")) if isinstance(workflow, Mapping) else None,
        error=_error(body),
        timestamp=_str(body.get("timestamp") or body.get("message-timestamp")),
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


def item_number(body: Any) -> int | None:
    """``workflow.item_number`` of a v1 status webhook's body, else None."""
    workflow = body.get("workflow") if isinstance(body, Mapping) else None
    number = workflow.get("item_number") if isinstance(workflow, Mapping) else None
    return number if isinstance(number, int) else None


def v1_outcome(events: list[Any]) -> str | None:
    """How a Messages API v1 failover workflow ended: ``"delivered"``, ``"failed"``, or None while unsettled.

    v1 has no final report. The workflow is over when a message is delivered (or read), or when every message
    failed. Webhooks of different messages can arrive in any order, so an outcome is only given once each
    message up to the deciding one has shown ``submitted`` and its result.

    Args:
        events: status events of one workflow (others are ignored by their missing ``workflow``).
    """
    by_item: dict[int, set[str | None]] = {}
    total = 0
    for event in events:
        number = item_number(event.body)
        if number is not None:
            by_item.setdefault(number, set()).add(event.status)
            total = max(total, int(event.body["workflow"].get("items_total") or 0))
    for number in range(1, total + 1):
        seen = by_item.get(number, set())
        if "submitted" not in seen:
            return None
        if seen & {"delivered", "read"}:
            return "delivered"
        if not seen & set(FAILED):
            return None
    return "failed" if total else None
