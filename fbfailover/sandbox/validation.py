"""Request validation: the JSON Schemas (``jsonschemas``) plus the business rules beyond them.

Every check returns a list of ``{"name": <field path>, "reason": <text>}`` entries, one per violation, in the
shape of Vonage's ``invalid_parameters``; an empty list means the body is valid.
"""

from __future__ import annotations

import re
from typing import Any

from .jsonschemas import Problems, check

__all__ = ["check_dispatch", "check_message_v01", "check_message_v1"]

# Content types each channel can carry and its longest text (Messages API v0.1 / Dispatch).
_V01_TYPES = {
    "sms": {"text"},
    "mms": {"image"},
    "messenger": {"text", "image", "audio", "video", "file"},
    "viber_service_msg": {"text", "image"},
    "whatsapp": {"text", "image", "audio", "video", "file", "template", "custom"},
}
_V1_TYPES = {
    "sms": {"text", "custom"},
    "mms": {"image", "vcard", "audio", "video"},
    "messenger": {"text", "image", "audio", "video", "file"},
    "viber_service": {"text", "image", "video", "file"},
    "whatsapp": {"text", "image", "audio", "video", "file", "template", "custom", "sticker"},
    "rcs": {"text", "image", "video", "file", "custom"},
}
_TEXT_MAX = {
    "sms": 1000,
    "mms": 1000,
    "messenger": 640,
    "viber_service_msg": 1000,
    "viber_service": 1000,
    "whatsapp": 4096,
    "rcs": 3072,
}
_NUMBER = re.compile(r"^[1-9][0-9]{6,14}$")
_SENDER = re.compile(r"^(?:[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11})$")
_NUMBER_CHANNELS = {"sms", "mms", "whatsapp"}
_NUMBER_REASON = "must be an E.164 number without a leading + or 00, e.g. 447700900000"


def _add(problems: Problems, name: str, reason: str) -> None:
    if all(p["name"] != name for p in problems):
        problems.append({"name": name, "reason": reason})


def _check_address(problems: Problems, where: str, addr: dict, channel: str, sender: bool) -> None:
    if channel in _NUMBER_CHANNELS:
        number = addr.get("number")
        if number is None:
            _add(problems, f"{where}.number", f"is required for the {channel} channel")
        elif not (_SENDER if sender else _NUMBER).match(number):
            _add(
                problems,
                f"{where}.number",
                _NUMBER_REASON
                if not sender
                else "must be an E.164 number without + or 00, or an alphanumeric sender (at most 11)",
            )
    elif addr.get("id") is None:
        _add(problems, f"{where}.id", f"is required for the {channel} channel")


def _check_olympus_item(problems: Problems, where: str, item: dict) -> None:
    to_type, from_type = item["to"]["type"], item["from"]["type"]
    if to_type != from_type:
        _add(problems, f"{where}from.type", f"must match to.type ({to_type})")
    _check_address(problems, f"{where}to", item["to"], to_type, sender=False)
    _check_address(problems, f"{where}from", item["from"], from_type, sender=True)
    message = item["message"]
    content = message["content"]
    _check_payload(problems, to_type, content, content["type"], _V01_TYPES[to_type],
                   f"{where}message.content.", "type", "content.type")
    _check_messenger_tag(problems, f"{where}message.", message)


def _check_payload(problems: Problems, channel: str, holder: dict, kind: str, allowed: Any, where: str,
                   type_field: str, type_name: str) -> None:
    """The message kind must suit the channel, its own field must be there, and text must fit the channel."""
    if kind not in allowed:
        _add(problems, f"{where}{type_field}",
             f"{kind} is not supported on {channel}; use one of: " + ", ".join(sorted(allowed)))
    elif kind not in holder:
        _add(problems, f"{where}{kind}", f"is required when {type_name} is {kind}")
    text = holder.get("text")
    if isinstance(text, str) and len(text) > _TEXT_MAX[channel]:
        _add(problems, f"{where}text", f"must be at most {_TEXT_MAX[channel]} characters on {channel}")


def _check_messenger_tag(problems: Problems, where: str, holder: dict) -> None:
    messenger = holder.get("messenger") or {}
    if messenger.get("category") == "message_tag" and not messenger.get("tag"):
        _add(problems, f"{where}messenger.tag", "is required when category is message_tag")


_VERDICTS: dict[bytes, bool] = {}  # exact raw body -> valid? (clients repeat the same body: the tutorial's curl)
_VERDICTS_MAX = 256
_VERDICT_BODY_MAX = 8192


def check_dispatch(body: Any, raw: bytes | None = None) -> Problems:
    """Validate a ``POST /v0.1/dispatch`` body: schema, then the failover and per-channel rules.

    ``raw``, the exact bytes ``body`` was parsed from, lets a body seen before skip the checks: the verdict
    depends on those bytes only.
    """
    if raw is None or len(raw) > _VERDICT_BODY_MAX:
        return _check_dispatch(body)
    if _VERDICTS.get(raw):
        return []
    problems = _check_dispatch(body)
    if not problems:
        if len(_VERDICTS) >= _VERDICTS_MAX:
            _VERDICTS.clear()
        _VERDICTS[raw] = True
    return problems


def _check_dispatch(body: Any) -> Problems:
    if body is None or body == {} or body == "":
        return [{"name": "workflow", "reason": "The workflow JSON Object cannot be empty"}]
    problems = check("olympus.json", "dispatch", body)
    if problems:
        return problems
    workflow = body["workflow"]
    last = len(workflow) - 1
    for i, item in enumerate(workflow):
        _check_olympus_item(problems, f"workflow[{i}].", item)
        if i < last and "failover" not in item:
            _add(problems, f"workflow[{i}].failover", "is required on every workflow item except the last")
        if i == last and "failover" in item:
            _add(problems, f"workflow[{i}].failover", "must not be set on the last workflow item")
    return problems


def check_message_v01(body: Any) -> Problems:
    """Validate a ``POST /v0.1/messages`` body."""
    if body is None or body == {} or body == "":
        return [{"name": "message", "reason": "The message JSON Object cannot be empty"}]
    problems = check("olympus.json", "message_v01", body)
    if not problems:
        _check_olympus_item(problems, "", body)
    return problems


def _check_v1_item(problems: Problems, where: str, msg: dict) -> None:
    channel, mtype = msg["channel"], msg["message_type"]
    _check_payload(problems, channel, msg, mtype, _V1_TYPES[channel], where, "message_type", "message_type")
    if channel in _NUMBER_CHANNELS and not _NUMBER.match(msg["to"]):
        _add(problems, f"{where}to", _NUMBER_REASON)
    if channel == "messenger":
        _check_messenger_tag(problems, where, msg)


def check_message_v1(body: Any) -> Problems:
    """Validate a ``POST /v1/messages`` body, including every entry of ``failover``."""
    if body is None or body == {} or body == "":
        return [{"name": "body", "reason": "The request body cannot be empty"}]
    problems = check("messages_v1.json", "request", body)
    if problems:
        return problems
    _check_v1_item(problems, "", body)
    for i, msg in enumerate(body.get("failover") or []):
        if "failover" in msg:
            _add(problems, f"failover[{i}].failover", "cannot be nested")
        _check_v1_item(problems, f"failover[{i}].", msg)
    return problems
