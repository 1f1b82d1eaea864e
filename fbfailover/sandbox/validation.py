"""Request validation: the sandbox's own JSON Schemas (compiled once) plus the business rules beyond them.

Every check returns a list of ``{"name": <field path>, "reason": <text>}`` entries, one per violation, in the
shape of Vonage's ``invalid_parameters``; an empty list means the body is valid.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

__all__ = [
    "ERROR_CODES",
    "check",
    "check_dispatch",
    "check_message_v01",
    "check_message_v1",
    "field_path",
]

Problems = list[dict[str, str]]

# Documented asynchronous error codes of the Messages API (code -> short reason).
ERROR_CODES: dict[int, str] = {
    1000: "Throttled",
    1010: "Missing params",
    1020: "Invalid params",
    1021: "Invalid tag",
    1022: "Invalid template",
    1030: "Internal error",
    1040: "Invalid message",
    1050: "Number barred",
    1060: "Partner account barred",
    1070: "Partner quota exceeded",
    1080: "Account not enabled for REST",
    1090: "Message too long",
    1100: "Communication Failed",
    1110: "Invalid Signature",
    1120: "Illegal Sender Address - rejected",
    1130: "Invalid TTL",
    1140: "Facility not allowed",
    1150: "Invalid Message class",
    1160: "Non White-listed Destination",
    1170: "Invalid or Missing Msisdn Param",
    1180: "Absent Subscriber Temporary",
    1190: "Absent Subscriber Permanent",
    1200: "Portability Error",
    1210: "Anti-Spam Rejection",
    1220: "Handset Busy",
    1230: "Network Error",
    1240: "Illegal Number",
    1241: "Too many send requests",
    1250: "Unroutable",
    1260: "Destination unreachable",
    1270: "Subscriber Age Restriction",
    1280: "Number Blocked by Carrier",
    1290: "Pre-Paid - Insufficient funds",
    1300: "Not part of the provider network",
    1310: "Not suitable device",
    1320: "Message already sent",
    1330: "Unknown",
    1331: "Provider error",
    1340: "Outside of the allowed window",
    1350: "Phone matching fee not paid",
    1360: "TTL was activated",
    1370: "Expired access Token",
    1380: "Invalid resource",
    1381: "Resource size is too large",
    1382: "Resource type is invalid",
}

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


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace every local ``$ref`` by its definition (the schemas hold no cycles)."""
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


class _Compiled:
    """One schema definition: jsonschema for the reasons, plus a generated fast path for valid bodies."""

    def __init__(self, schema: dict[str, Any]):
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        self.validator = cls(schema)
        self.is_valid = self.validator.is_valid
        try:  # fastjsonschema compiles the same schema to Python code: ~15x quicker on the hot path
            import fastjsonschema
        except ImportError:  # pragma: no cover - jsonschema alone gives the same answers, more slowly
            return
        draft7 = {k: v for k, v in schema.items() if k != "$schema"}
        fast = fastjsonschema.compile(draft7)

        def is_valid(body: Any) -> bool:
            try:
                fast(body)
            except fastjsonschema.JsonSchemaException:
                return False
            return True

        self.is_valid = is_valid


@cache
def _validator(resource: str, definition: str) -> _Compiled:
    text = resources.files("fbfailover.sandbox").joinpath("schemas", resource).read_text("utf-8")
    root = json.loads(text)
    schema = _inline(root["$defs"][definition], root["$defs"])
    schema["$schema"] = root["$schema"]
    return _Compiled(schema)


def field_path(parts: Any) -> str:
    """Render a jsonschema path (``['workflow', 0, 'failover']``) as ``workflow[0].failover``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def _describe(error: jsonschema.ValidationError) -> list[tuple[str, str]]:
    """Our own wording for one schema violation: (path, reason) pairs."""
    path = field_path(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind, value = error.validator, error.validator_value
    if kind == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = [p for p in value if p not in present and repr(p) in error.message]
        return [(_join(path, p), "is required") for p in missing[:1] or value[:1]]
    if kind == "additionalProperties":
        known = set(schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in known) if isinstance(error.instance, dict) else []
        return [(_join(path, k), "is not a known field") for k in extra] or [(path, "has unknown fields")]
    if "x-reason" in schema and kind == "pattern":
        return [(path, schema["x-reason"])]
    if kind == "type":
        names = [value] if isinstance(value, str) else list(value)
        names = [n for n in names if n != "null"]
        article = {"integer": "an", "object": "an", "array": "an"}
        return [(path, " or ".join(f"must be {article.get(n, 'a')} {n}" for n in names))]
    if kind == "enum":
        return [(path, "must be one of: " + ", ".join(str(v) for v in value))]
    if kind in ("minimum", "maximum") and "minimum" in schema and "maximum" in schema:
        return [(path, f"must be between {schema['minimum']} and {schema['maximum']}")]
    if kind == "minimum":
        return [(path, f"must be at least {value}")]
    if kind == "maximum":
        return [(path, f"must be at most {value}")]
    if kind in ("minLength", "maxLength"):
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        if lo is not None and hi is not None:
            return [(path, f"must be between {lo} and {hi} characters long")]
        return [
            (
                path,
                f"must be at least {lo} characters long" if lo is not None else f"must be at most {hi} characters long",
            )
        ]
    if kind == "minItems":
        return [(path, f"must hold at least {value} item{'s' if value != 1 else ''}")]
    if kind == "maxItems":
        return [(path, f"must hold at most {value} items")]
    if kind == "pattern":
        return [(path, f"must match {value}")]
    return [(path, "is not valid")]


def check(resource: str, definition: str, body: Any) -> Problems:
    """Validate ``body`` against one schema definition; one entry per violation, sorted by field."""
    compiled = _validator(resource, definition)
    if compiled.is_valid(body):  # the fast path: no error objects are built for a valid body
        return []
    problems: dict[str, str] = {}
    for error in compiled.validator.iter_errors(body):
        for name, reason in _describe(error):
            problems.setdefault(name or "body", reason)
    return [{"name": n, "reason": r} for n, r in sorted(problems.items())]


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
