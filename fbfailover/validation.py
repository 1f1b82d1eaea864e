"""Rules of the Dispatch and Messages request bodies, checked before anything is sent.

Every checker returns a list of problems ``{"name": <API-style path>, "reason": <text>}`` and never
stops at the first one, so a learner sees everything to fix at once. ``ValidationError`` is raised by
the ``validate_*`` functions only. Pure functions: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .errors import ValidationError

__all__ = ["CONDITION_STATUSES", "DISPATCH_CHANNELS", "TEXT_LIMITS", "V1_CHANNELS", "validate_message_v1",
           "validate_phone_number", "validate_workflow"]

Problems = list[dict[str, str]]

#: Dispatch channel -> (how ``to`` is addressed, how ``from`` is addressed).
DISPATCH_CHANNELS: dict[str, tuple[str, str]] = {
    "messenger": ("id", "id"),
    "sms": ("number", "number"),
    "viber_service_msg": ("number", "id"),
    "whatsapp": ("number", "number"),
}
#: Messages API v1 channel -> (kind of ``to``, kind of ``from``).
V1_CHANNELS: dict[str, tuple[str, str]] = {
    "messenger": ("id", "id"), "sms": ("number", "number"), "mms": ("number", "number"),
    "whatsapp": ("number", "number"), "viber_service": ("number", "id"), "rcs": ("number", "id"),
}
TEXT_LIMITS = {"messenger": 640, "sms": 1000, "mms": 1000, "viber_service_msg": 1000, "viber_service": 1000,
               "whatsapp": 4096, "rcs": 3072}
CONTENT_TYPES = {"text", "image", "audio", "video", "file", "template", "custom"}
_CONTENT_BY_CHANNEL = {"sms": {"text"}, "messenger": {"text", "image", "audio", "video", "file"}}
CONDITION_STATUSES = ("delivered", "read")
EXPIRY_RANGE = (15, 86_400)
ID_MAX = 50
_DIGITS = re.compile(r"[0-9]{7,15}")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def phone_number_problem(value: Any) -> str | None:
    """Return why ``value`` is not an E.164 number as the API wants it (digits, no '+'), or None."""
    if not isinstance(value, str) or not value:
        return "must be a phone number in E.164 form without a leading '+', e.g. 447700900000"
    if _DIGITS.fullmatch(value) and not value.startswith("0"):
        return None
    digits = re.sub(r"\D", "", value)
    if value.lstrip().startswith("+"):
        lead, fixed = "+", digits
    elif digits.startswith("00"):
        lead, fixed = "00", digits[2:]
    elif digits.startswith("0"):
        # A single leading 0 is a national trunk prefix: only the learner knows the country code.
        return "must start with the country code instead of a leading 0, e.g. 447700900000 for 07700 900000"
    else:
        lead, fixed = "+", digits
    if _DIGITS.fullmatch(fixed) and not fixed.startswith("0"):
        return f"must be digits only in E.164 form without a leading '{lead}'; use {fixed}"
    return (f"must be 7 to 15 digits in E.164 form (country code first, no '+' or '00'), e.g. 447700900000; "
            f"got {len(digits)} digit{'s' if len(digits) != 1 else ''}")


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
    """Return why ``value`` is not a valid Messenger/Viber id (1..50 characters), or None."""
    if not isinstance(value, str) or not value.strip():
        return "is required (1 to 50 characters)"
    if len(value) > ID_MAX:
        return f"must be at most {ID_MAX} characters (got {len(value)})"
    return None


def text_problem(value: Any, channel: str) -> str | None:
    """Return why ``value`` is not a valid text for ``channel``, or None."""
    limit = TEXT_LIMITS.get(channel, 1000)
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


def _address_problem(kind: str, value: Any) -> str | None:
    """Why ``value`` is not a valid address of ``kind``: ``number`` (E.164) or ``id`` (a page or user id)."""
    return phone_number_problem(value) if kind == "number" else id_problem(value)


def address_problems(addr: Any, channel: str, kind: str, path: str) -> Problems:
    """Check one ``to``/``from`` object ``{type, id|number}`` of a Dispatch or v0.1 message."""
    if not isinstance(addr, Mapping):
        return [{"name": path, "reason": "is required and must be an object"}]
    if addr.get("type") != channel:
        return [{"name": f"{path}.type", "reason": f"must be '{channel}', the channel of this message"}]
    reason = _address_problem(kind, addr.get(kind))
    return [{"name": f"{path}.{kind}", "reason": reason}] if reason else []


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
        out.append({"name": f"{path}.condition_status", "reason": "must be 'delivered' or 'read'"})
    return out


def message_problems(item: Any, path: str = "") -> Problems:
    """Check the ``to``, ``from`` and ``message`` of a Dispatch workflow item or a v0.1 message."""
    if not isinstance(item, Mapping):
        return [{"name": path or "body", "reason": "must be an object"}]
    channel = item.get("to", {}).get("type") if isinstance(item.get("to"), Mapping) else None
    if channel not in DISPATCH_CHANNELS:
        choices = ", ".join(sorted(DISPATCH_CHANNELS))
        return [{"name": _join(path, "to.type"), "reason": f"must be one of: {choices}"}]
    to_kind, from_kind = DISPATCH_CHANNELS[channel]
    out = address_problems(item.get("from"), channel, from_kind, _join(path, "from"))
    out += address_problems(item.get("to"), channel, to_kind, _join(path, "to"))
    message = item.get("message")
    content = message.get("content") if isinstance(message, Mapping) else None
    cpath = _join(path, "message.content")
    if not isinstance(content, Mapping):
        return [*out, {"name": cpath, "reason": "is required: an object with type and text"}]
    ctype = content.get("type")
    allowed = _CONTENT_BY_CHANNEL.get(channel, CONTENT_TYPES)
    if ctype not in allowed:
        out.append({"name": f"{cpath}.type",
                    "reason": f"must be one of: {', '.join(sorted(allowed))} on {channel}"})
    elif ctype == "text":
        reason = text_problem(content.get("text"), channel)
        if reason:
            out.append({"name": f"{cpath}.text", "reason": reason})
    elif not isinstance(content.get(ctype), Mapping):
        out.append({"name": f"{cpath}.{ctype}", "reason": f"is required for content type {ctype}"})
    return out


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
    channel = body.get("channel")
    if channel not in V1_CHANNELS:
        out.append({"name": _join(path, "channel"),
                    "reason": f"must be one of: {', '.join(sorted(V1_CHANNELS))}"})
    else:
        to_kind, from_kind = V1_CHANNELS[channel]
        for key, kind in (("from", from_kind), ("to", to_kind)):
            reason = _address_problem(kind, body.get(key))
            if reason:
                out.append({"name": _join(path, key), "reason": reason})
        mtype = body.get("message_type")
        if mtype == "text":
            reason = text_problem(body.get("text"), channel)
            if reason:
                out.append({"name": _join(path, "text"), "reason": reason})
        elif not isinstance(mtype, str) or not isinstance(body.get(mtype), Mapping):
            out.append({"name": _join(path, "message_type"),
                        "reason": "must be 'text' with a text field, or a type whose object is given"})
    reason = client_ref_problem(body.get("client_ref"), 100)
    if reason:
        out.append({"name": _join(path, "client_ref"), "reason": reason})
    failover = body.get("failover")
    if failover is not None and nested:
        out.append({"name": _join(path, "failover"),
                    "reason": "a failover message cannot have its own failover"})
    elif failover is not None:
        if not isinstance(failover, list) or not failover:
            out.append({"name": _join(path, "failover"),
                        "reason": "must be a non-empty list of complete messages"})
        else:
            for i, item in enumerate(failover):
                out += message_v1_problems(item, _join(path, f"failover[{i}]"), nested=True)
    return out


def validate_workflow(body: Any) -> dict[str, Any]:
    """Check a Dispatch request body against every rule of the API.

    Returns:
        ``body`` unchanged when valid.

    Raises:
        ValidationError: listing every problem with paths like ``workflow[0].failover.expiry_time``.
    """
    raise_if(workflow_problems(body))
    return body


def validate_message_v1(body: Any) -> dict[str, Any]:
    """Check a Messages API v1 body, failover messages included.

    Returns:
        ``body`` unchanged when valid.

    Raises:
        ValidationError: listing every problem with paths like ``failover[0].to``.
    """
    raise_if(message_v1_problems(body))
    return body


def raise_if(problems: Problems) -> None:
    """Raise ValidationError when there is any problem."""
    if problems:
        raise ValidationError(problems)
