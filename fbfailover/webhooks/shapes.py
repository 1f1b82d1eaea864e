"""Read any webhook body, whatever its shape: the one place that knows where each field lives.

Three shapes reach the receiver:

=================  ===========================  ==========================  =============================
field              Messages v0.1 / Dispatch     Messages API v1             SMS API (account webhooks)
=================  ===========================  ==========================  =============================
channel            ``to.type`` / ``from.type``  ``channel``                 always ``sms``
sender             ``from.id`` / ``from.number``  ``from`` (a string)       inbound ``msisdn``; receipt ``to``
recipient          ``to.id`` / ``to.number``    ``to`` (a string)           inbound ``to``; receipt ``msisdn``
text (inbound)     ``message.content.text``     ``text``                    ``text``
message id         ``message_uuid``             ``message_uuid``            ``messageId``
timestamp          ``timestamp``                ``timestamp``               ``message-timestamp``
workflow position  (Dispatch: ``_links``)       ``workflow{id, item_number, items_total}``   —
=================  ===========================  ==========================  =============================

A Dispatch final report (``template``, ``_links.messages``) has no channel or addresses of its own. The v1
``workflow`` position is read leniently: ``items_total`` or ``total_items``, integers or numeric strings.
Every function takes the parsed body and returns None for what it does not carry; none raises. ``fields`` reads
them all at once (what the receiver does for every webhook: the shape is worked out once, not once per field).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = [
    "MAPPING",
    "SMS_API",
    "V01",
    "V1",
    "WorkflowPosition",
    "channel",
    "dispatch_uuid",
    "error",
    "error_code",
    "fields",
    "is_final_report",
    "message_uuid",
    "recipient_id",
    "report_messages",
    "sender_id",
    "status",
    "text",
    "timestamp",
    "version",
    "workflow_position",
]

V01, V1, SMS_API = "v0.1", "v1", "sms"

#: What a body's mappings are checked against, here and in ``events.classify``: ``dict`` first, so the usual case
#: (parsed JSON) is one plain type check rather than a walk through ``Mapping``'s ABC machinery (about half of the
#: receiver's cost of reading a body).
MAPPING = (dict, Mapping)


class WorkflowPosition(NamedTuple):
    """Where a message stands in a Messages API v1 failover workflow (``item_number`` counts from 1)."""

    id: str | None
    item_number: int | None
    items_total: int | None


class Fields(NamedTuple):
    """Every field ``fields`` reads from a body: each is what the function of the same name returns."""

    version: str | None
    channel: str | None
    sender_id: str | None
    recipient_id: str | None
    text: str | None
    status: str | None
    message_uuid: str | None
    dispatch_uuid: str | None
    timestamp: str | None
    error: dict[str, Any] | None
    workflow: WorkflowPosition | None


def _get(body: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(body, MAPPING):
            return None
        body = body.get(part)
    return body


def _str(value: Any) -> str | None:
    if type(value) is str:  # the usual case, answered without the checks below
        return value or None
    if value is None or value == "" or isinstance(value, (dict, list, Mapping)):
        return None
    return str(value)


def _int(value: Any) -> int | None:
    """An integer from an int or a numeric string (``"2"``); None for anything else, booleans included."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def is_final_report(body: Any) -> bool:
    """True for a Dispatch final report (``template``, ``_links.messages``, or a bare ``dispatch_uuid``)."""
    if not isinstance(body, MAPPING):
        return False
    return (body.get("template") is not None or isinstance(_get(body, "_links", "messages"), list)
            or bool(body.get("dispatch_uuid") and not body.get("message_uuid")))


def version(body: Any) -> str | None:
    """Which shape a body has: ``V01`` (Messages v0.1 or Dispatch), ``V1``, ``SMS_API``, or None if unknown."""
    if not isinstance(body, MAPPING):
        return None
    if "msisdn" in body or "messageId" in body:
        return SMS_API
    if is_final_report(body) or isinstance(body.get("to"), MAPPING) or isinstance(body.get("from"), MAPPING):
        return V01
    if isinstance(body.get("channel"), str) or body.get("message_type") is not None or any(
            isinstance(body.get(side), (str, int)) for side in ("to", "from")):
        return V1
    return None


def _sms_receipt(body: Mapping[str, Any]) -> bool:
    """An SMS API delivery receipt (rather than an inbound SMS)."""
    return "status" in body or "err-code" in body or "scts" in body


def _address(body: Mapping[str, Any], side: str) -> str | None:
    value = body.get(side)
    if isinstance(value, MAPPING):  # v0.1: {type, id | number}
        return _str(value.get("id")) or _str(value.get("number"))
    return _str(value)  # v1: a plain string


def channel(body: Any) -> str | None:
    """The channel (``messenger``, ``sms``...) of a status or inbound body; None for a final report."""
    return _channel(body, version(body))


def _channel(body: Any, shape: str | None) -> str | None:
    if shape == SMS_API:
        return "sms"
    if shape is None or is_final_report(body):
        return None
    named = body.get("channel")
    if isinstance(named, str) and named:
        return named
    for side in ("to", "from"):
        kind = _get(body, side, "type")
        if isinstance(kind, str) and kind:
            return kind
    return None


def sender_id(body: Any) -> str | None:
    """Who sent the message: a user's PSID or phone number inbound, your Page or number in a status."""
    return _sender_id(body, version(body))


def _sender_id(body: Any, shape: str | None) -> str | None:
    if shape == SMS_API:
        return _str(body.get("to")) if _sms_receipt(body) else _str(body.get("msisdn"))
    return _address(body, "from") if shape in (V01, V1) else None


def recipient_id(body: Any) -> str | None:
    """Who the message went to: your Page ID or number inbound, the user's PSID or number in a status."""
    return _recipient_id(body, version(body))


def _recipient_id(body: Any, shape: str | None) -> str | None:
    if shape == SMS_API:
        return _str(body.get("msisdn")) if _sms_receipt(body) else _str(body.get("to"))
    return _address(body, "to") if shape in (V01, V1) else None


def text(body: Any) -> str | None:
    """The text of an inbound text message, in any shape."""
    if not isinstance(body, MAPPING):
        return None
    nested = _get(body, "message", "content", "text")  # v0.1
    if isinstance(nested, str):
        return nested
    flat = body.get("text")  # v1 and SMS API
    return flat if isinstance(flat, str) else None


def status(body: Any) -> str | None:
    """The ``status`` of a status webhook, receipt or final report."""
    return _str(body.get("status")) if isinstance(body, MAPPING) else None


def message_uuid(body: Any) -> str | None:
    """The message's id: ``message_uuid``, or the SMS API's ``messageId``."""
    if not isinstance(body, MAPPING):
        return None
    return _str(body.get("message_uuid")) or _str(body.get("messageId"))


def timestamp(body: Any) -> str | None:
    """The webhook's own time as sent: ``timestamp``, or the SMS API's ``message-timestamp``."""
    if not isinstance(body, MAPPING):
        return None
    return _str(body.get("timestamp")) or _str(body.get("message-timestamp"))


def dispatch_uuid(body: Any) -> str | None:
    """The dispatch a v0.1 status or final report belongs to, under any of the names it has had."""
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


def error(body: Any) -> dict[str, Any] | None:
    """The error of a failed message: v0.1 ``{code, reason}``, v1 ``{type, title, detail}``, SMS ``err-code``."""
    if not isinstance(body, MAPPING):
        return None
    found = body.get("error")
    if isinstance(found, MAPPING):
        return dict(found)
    code = body.get("err-code")  # SMS API delivery receipt; "0" means no error
    if code not in (None, "", "0", 0):
        return {"code": code}
    return None


def error_code(body: Any) -> int | None:
    """The numeric error code of a failed message, in any shape: v0.1 ``error.code``; v1 ``error.title`` or the
    ``#NNNN`` of ``error.type``, whichever host the type URL names (``developer.vonage.com`` or
    ``developer.nexmo.com``: both are seen); SMS API ``err-code``. None without one.
    """
    found = error(body)
    if found is None:
        return None
    for value in (found.get("code"), found.get("title")):
        number = _int(value)
        if number is not None:
            return number
    kind = found.get("type")
    if isinstance(kind, str) and "#" in kind:
        return _int(kind.rpartition("#")[2])
    return None


def workflow_position(body: Any) -> WorkflowPosition | None:
    """The v1 ``workflow`` of a status body as ``(id, item_number, items_total)``, or None without one.

    ``items_total`` is also read as ``total_items``; numbers may come as integers or numeric strings.
    """
    workflow = _get(body, "workflow")
    if not isinstance(workflow, MAPPING):
        return None
    total = workflow.get("items_total")
    if total is None:
        total = workflow.get("total_items")
    return WorkflowPosition(_str(workflow.get("id")), _int(workflow.get("item_number")), _int(total))


def report_messages(body: Any) -> list[dict[str, Any]]:
    """The per-message entries (``message_uuid``, ``channel``, ``status``...) of a Dispatch final report."""
    links = _get(body, "_links", "messages")
    return [dict(m) for m in links if isinstance(m, MAPPING)] if isinstance(links, list) else []


def fields(body: Any) -> Fields:
    """Every field of ``body`` at once (the same values as the functions of the same names)."""
    shape = version(body)
    return Fields(version=shape, channel=_channel(body, shape), sender_id=_sender_id(body, shape),
                  recipient_id=_recipient_id(body, shape), text=text(body), status=status(body),
                  message_uuid=message_uuid(body), dispatch_uuid=dispatch_uuid(body), timestamp=timestamp(body),
                  error=error(body), workflow=workflow_position(body))
