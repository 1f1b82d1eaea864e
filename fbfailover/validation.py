"""Rules of the Dispatch and Messages request bodies, checked before anything is sent.

Every channel fact (names per API, address kinds, content types, text limits) comes from the channel table,
``fbfailover.channels``, which the sandbox follows too. Every checker returns a list of problems
``{"name": <API-style path>, "reason": <text>}`` and never stops at the first one, so a learner sees everything
to fix at once. ``ValidationError`` is raised by the ``validate_*`` functions only. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .channels import (
    ADDRESS_KINDS,
    CHANNELS,
    CONDITION_STATUSES,
    EXPIRY_RANGE,
    ID_MAX,
    NUMBER,
    SENDER,
    Channel,
    TableMapping,
    by_name,
)
from .errors import ValidationError

__all__ = ["CONDITION_STATUSES", "DISPATCH_CHANNELS", "TEXT_LIMITS", "V1_CHANNELS",
           "validate_message_v1", "validate_phone_number", "validate_workflow"]

Problems = list[dict[str, str]]

#: Dispatch channel -> (how ``to`` is addressed, how ``from`` is addressed): ``number``, ``id`` or ``sender``.
DISPATCH_CHANNELS: TableMapping[str, tuple[str, str]] = TableMapping(
    lambda: {c.name: (c.to_kind, c.from_kind) for c in CHANNELS if c.in_dispatch})
#: Messages API v0.1 channel -> (kind of ``to``, kind of ``from``).
V01_CHANNELS: TableMapping[str, tuple[str, str]] = TableMapping(
    lambda: {c.name: (c.to_kind, c.from_kind) for c in CHANNELS if c.v01_content})
#: Messages API v1 channel -> (kind of ``to``, kind of ``from``).
V1_CHANNELS: TableMapping[str, tuple[str, str]] = TableMapping(
    lambda: {c.v1_name: (c.to_kind, c.from_kind) for c in CHANNELS if c.v1_name})
#: Longest text per channel, under its name in every API (``viber_service_msg`` and ``viber_service`` alike).
TEXT_LIMITS: TableMapping[str, int] = TableMapping(
    lambda: {n: c.text_max for c in CHANNELS for n in (c.name, c.v1_name) if n})
_NUMBER_EXAMPLE = "447700900000"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def address_field(kind: str) -> str:
    """The field of a v0.1 address object that holds an address of ``kind`` (a sender is a ``number``)."""
    return ADDRESS_KINDS[kind].field


def phone_number_problem(value: Any) -> str | None:
    """Return why ``value`` is not an E.164 number as the API wants it (digits, no '+'), or None."""
    if not isinstance(value, str) or not value:
        return f"must be a phone number in E.164 form without a leading '+', e.g. {_NUMBER_EXAMPLE}"
    if NUMBER.fullmatch(value):
        return None
    if re.search(r"[A-Za-z]", value) and SENDER.fullmatch(value):
        return "must be a phone number: an alphanumeric sender id such as this one is allowed on SMS only"
    digits = re.sub(r"\D", "", value)
    if value.lstrip().startswith("+"):
        lead, fixed = "+", digits
    elif digits.startswith("00"):
        lead, fixed = "00", digits[2:]
    elif digits.startswith("0"):
        # A single leading 0 is a national trunk prefix: only the learner knows the country code.
        return f"must start with the country code instead of a leading 0, e.g. {_NUMBER_EXAMPLE} for 07700 900000"
    else:
        lead, fixed = "+", digits
    if NUMBER.fullmatch(fixed):
        return f"must be digits only in E.164 form without a leading '{lead}'; use {fixed}"
    return (f"must be 7 to 15 digits in E.164 form (country code first, no '+' or '00'), e.g. {_NUMBER_EXAMPLE}; "
            f"got {len(digits)} digit{'s' if len(digits) != 1 else ''}")


def sender_problem(value: Any) -> str | None:
    """Return why ``value`` is not an SMS sender (an E.164 number or an alphanumeric sender id), or None."""
    if isinstance(value, str) and SENDER.fullmatch(value):
        return None
    if isinstance(value, str) and re.search(r"[A-Za-z]", value):
        if not re.fullmatch(r"[A-Za-z0-9 ]*", value):
            return "must be an alphanumeric sender id: letters, digits and spaces only (at most 11), e.g. Vonage"
        return f"must be at most 11 characters as an alphanumeric sender id (got {len(value)}), e.g. Vonage"
    reason = phone_number_problem(value)
    if reason is None or "; use " in reason:  # a number with a fix-up hint: the learner meant a number
        return reason
    return f"{reason} (or an alphanumeric sender id of at most 11 characters, e.g. Vonage)"


def validate_phone_number(value: Any, field: str = "number") -> str:
    """Check a phone number the way the API does (useful next to a form field).

    Args:
        value: the number as typed.
        field: the name reported in the error.

    Returns:
        ``value`` unchanged when it is valid.

    Raises:
        ValidationError: with one problem whose reason shows the fixed form when there is one.
    """
    reason = phone_number_problem(value)
    if reason:
        raise ValidationError([{"name": field, "reason": reason}])
    return value


def id_problem(value: Any) -> str | None:
    """Return why ``value`` is not a valid Messenger/Viber/RCS id (1..ID_MAX characters), or None."""
    if not isinstance(value, str) or not value.strip():
        return f"is required (1 to {ID_MAX} characters)"
    if len(value) > ID_MAX:
        return f"must be at most {ID_MAX} characters (got {len(value)})"
    return None


def address_problem(kind: str, value: Any) -> str | None:
    """Return why ``value`` is not an address of ``kind`` (``number``, ``id`` or ``sender``), or None."""
    if kind == "number":
        return phone_number_problem(value)
    if kind == "sender":
        return sender_problem(value)
    return id_problem(value) or ADDRESS_KINDS[kind].problem(value)  # ids, and kinds of channels added later


def text_problem(value: Any, channel: str) -> str | None:
    """Return why ``value`` is not a valid text for ``channel`` (its name in any API), or None."""
    limit = TEXT_LIMITS.get(channel, min(TEXT_LIMITS.values()))
    if not isinstance(value, str) or not value:
        return f"is required (1 to {limit} characters)"
    if len(value) > limit:
        return f"must be at most {limit} characters on {channel} (got {len(value)})"
    return None


def url_problem(value: Any) -> str | None:
    """Return why ``value`` is not an absolute http(s) URL, or None."""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http:// or https:// URL"
    return None


def address_problems(addr: Any, channel: str, kind: str, path: str) -> Problems:
    """Check one ``to``/``from`` object ``{type, id|number}`` of a Dispatch or v0.1 message."""
    if not isinstance(addr, Mapping):
        return [{"name": path, "reason": "is required and must be an object"}]
    if addr.get("type") != channel:
        return [{"name": f"{path}.type", "reason": f"must be '{channel}', the channel of this message (to.type)"}]
    key = address_field(kind)
    reason = address_problem(kind, addr.get(key))
    return [{"name": f"{path}.{key}", "reason": reason}] if reason else []


def failover_problems(failover: Any, path: str) -> Problems:
    """Check a ``failover`` condition ``{expiry_time, condition_status}``."""
    if not isinstance(failover, Mapping):
        return [{"name": path, "reason": "must be an object with expiry_time and condition_status"}]
    out: Problems = []
    expiry = failover.get("expiry_time")
    low, high = EXPIRY_RANGE
    if isinstance(expiry, bool) or not isinstance(expiry, int) or not low <= expiry <= high:
        out.append({"name": f"{path}.expiry_time",
                    "reason": f"must be a whole number of seconds between {low} and {high}"})
    if failover.get("condition_status") not in CONDITION_STATUSES:
        out.append({"name": f"{path}.condition_status",
                    "reason": "must be " + " or ".join(f"'{s}'" for s in CONDITION_STATUSES)})
    return out


def _payload_problems(channel: Channel, api: str, kind: Any, holder: Mapping[str, Any], path: str,
                      type_field: str) -> Problems:
    """The content (v0.1) or message (v1) type must suit the channel, with its text or its own object."""
    allowed = channel.content(api)
    name = channel.v1_name if api == "v1" else channel.name
    if kind not in allowed:
        return [{"name": _join(path, type_field), "reason": f"must be one of: {', '.join(allowed)} on {name}"}]
    if kind == "text":
        reason = text_problem(holder.get("text"), name)
        return [{"name": _join(path, "text"), "reason": reason}] if reason else []
    if not isinstance(holder.get(kind), Mapping):
        return [{"name": _join(path, kind), "reason": f"is required when {type_field} is {kind}"}]
    return []


def message_problems(item: Any, path: str = "", *, api: str = "dispatch") -> Problems:
    """Check the ``to``, ``from`` and ``message`` of a Dispatch workflow item (``api="dispatch"``) or a v0.1 message.

    Args:
        item: the item or message.
        path: the prefix of every problem's name, e.g. ``workflow[0]``.
        api: ``"dispatch"`` or ``"v0.1"``: which channels are allowed.

    Returns:
        The problems found (empty when valid).
    """
    if not isinstance(item, Mapping):
        return [{"name": path or "body", "reason": "must be an object"}]
    kinds = DISPATCH_CHANNELS if api == "dispatch" else V01_CHANNELS
    name = item.get("to", {}).get("type") if isinstance(item.get("to"), Mapping) else None
    channel = by_name(name) if name in kinds else None
    if channel is None:
        return [{"name": _join(path, "to.type"), "reason": f"must be one of: {', '.join(kinds)}"}]
    out = address_problems(item.get("from"), name, channel.from_kind, _join(path, "from"))
    out += address_problems(item.get("to"), name, channel.to_kind, _join(path, "to"))
    message = item.get("message")
    content = message.get("content") if isinstance(message, Mapping) else None
    cpath = _join(path, "message.content")
    if not isinstance(content, Mapping):
        return [*out, {"name": cpath, "reason": "is required: an object with type and text"}]
    return out + _payload_problems(channel, "v0.1", content.get("type"), content, cpath, "type")


def workflow_problems(body: Any) -> Problems:
    """Check a whole Dispatch body ``{"template": "failover", "workflow": [...]}``."""
    if not isinstance(body, Mapping):
        return [{"name": "body", "reason": "must be a JSON object with template and workflow"}]
    out: Problems = []
    if body.get("template") != "failover":
        out.append({"name": "template", "reason": "must be 'failover' (the only template)"})
    workflow = body.get("workflow")
    if not isinstance(workflow, list) or not workflow:
        return [*out, {"name": "workflow", "reason": "must be a list of at least one message"}]
    last = len(workflow) - 1
    for i, item in enumerate(workflow):
        path = f"workflow[{i}]"
        out += message_problems(item, path)
        failover = item.get("failover") if isinstance(item, Mapping) else None
        if i < last and failover is None:
            out.append({"name": f"{path}.failover",
                        "reason": "is required on every message except the last: it says when to move on"})
        elif i == last and failover is not None:
            out.append({"name": f"{path}.failover",
                        "reason": "must not be set on the last message: there is nothing to fail over to"})
        elif failover is not None:
            out += failover_problems(failover, f"{path}.failover")
    return out


def client_ref_problem(value: Any, limit: int) -> str | None:
    """Return why ``value`` is not a valid ``client_ref`` (None is fine), or None."""
    if value is None or (isinstance(value, str) and 0 < len(value) <= limit):
        return None
    return f"must be 1 to {limit} characters when given"


def message_v1_problems(body: Any, path: str = "", *, nested: bool = False) -> Problems:
    """Check a Messages API v1 body (flat ``to``/``from`` strings) and its ``failover`` list."""
    if not isinstance(body, Mapping):
        return [{"name": path or "body", "reason": "must be an object"}]
    out: Problems = []
    channel = by_name(body.get("channel")) if body.get("channel") in V1_CHANNELS else None
    if channel is None:
        out.append({"name": _join(path, "channel"), "reason": f"must be one of: {', '.join(V1_CHANNELS)}"})
    else:
        for key, kind in (("from", channel.from_kind), ("to", channel.to_kind)):
            reason = address_problem(kind, body.get(key))
            if reason:
                out.append({"name": _join(path, key), "reason": reason})
        out += _payload_problems(channel, "v1", body.get("message_type"), body, path, "message_type")
    reason = client_ref_problem(body.get("client_ref"), 100)
    if reason:
        out.append({"name": _join(path, "client_ref"), "reason": reason})
    if "webhook_version" in body and body["webhook_version"] not in ("v0.1", "v1"):
        out.append({"name": _join(path, "webhook_version"), "reason": "must be one of: v0.1, v1"})
    failover = body.get("failover")
    if failover is not None and nested:
        out.append({"name": _join(path, "failover"),
                    "reason": "a failover message cannot have its own failover"})
    elif failover is not None:
        if not isinstance(failover, list):  # an empty list is allowed: it sends one message, without a workflow
            out.append({"name": _join(path, "failover"),
                        "reason": "must be a list of complete messages"})
        else:
            for i, item in enumerate(failover):
                out += message_v1_problems(item, _join(path, f"failover[{i}]"), nested=True)
    return out


def validate_workflow(body: Any) -> dict[str, Any]:
    """Check a Dispatch request body against every rule of the API.

    Args:
        body: the request body.

    Returns:
        ``body`` unchanged when valid.

    Raises:
        ValidationError: listing every problem with paths like ``workflow[0].failover.expiry_time``.
    """
    raise_if(workflow_problems(body))
    return body


def validate_message_v1(body: Any) -> dict[str, Any]:
    """Check a Messages API v1 body, failover messages included.

    Args:
        body: the request body.

    Returns:
        ``body`` unchanged when valid.

    Raises:
        ValidationError: listing every problem with paths like ``failover[0].to``.
    """
    raise_if(message_v1_problems(body))
    return body


def raise_if(problems: Problems) -> None:
    """Raise ValidationError when there is any problem.

    Raises:
        ValidationError: carrying ``problems``.
    """
    if problems:
        raise ValidationError(problems)
