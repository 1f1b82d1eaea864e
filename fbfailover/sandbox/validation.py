"""Request validation: the sandbox's own JSON Schemas (``schemas/``) and the rules of the channel table.

One engine, ``jsonschema_rs`` (a compiled JSON Schema 2020-12 validator: quick to import and to run), decides
validity and lists every violation, which the sandbox words in its own terms. Every node of the schemas marked
``x-from-channel-table`` (channel and content enums, address fields and lengths, the longest text, each channel's
options object, the failover ranges) is filled from ``fbfailover.channels`` when a schema loads, and the rules
beyond a schema (how each channel addresses ``to`` and ``from``, which content it carries, its longest text, its
options' rules, the failover rules) read the same table. A schema is loaded again when the table changes.

Every check returns a list of ``{"name": <field path>, "reason": <text>}`` entries, one per violation, in the
shape of Vonage's ``invalid_parameters``; an empty list means the body is valid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs

from fbfailover import channels
from fbfailover.channels import ADDRESS_KINDS, CHANNELS, ID_MAX, by_name

__all__ = ["Problems", "check", "check_dispatch", "check_message_v01", "check_message_v1", "field_path", "from_table",
           "schema"]

Problems = list[dict[str, str]]

def _enum(values: Any) -> Callable[[dict], dict]:
    return lambda node: {**node, "enum": list(values())}


def _options(api: str) -> Callable[[dict], dict]:
    """Each channel's options object, as a property of a v0.1 ``message`` or of a v1 message."""
    def fill(node: dict) -> dict:
        found = {}
        for c in CHANNELS:
            fields = None if c.options is None else (c.options.v1 if api == "v1" else c.options.v01)
            if fields is not None and (c.v1_name if api == "v1" else c.v01_content):
                found[c.api_name(api)] = {"type": "object", **({"properties": dict(fields)} if fields else {})}
        return {**node, "properties": {**node.get("properties", {}), **found}}
    return fill


# What each ``x-from-channel-table`` marker stands for: a function of the marked node.
_TABLE: dict[str, Callable[[dict], dict]] = {
    "v0.1 channels": _enum(lambda: channels.MESSAGES_V01),
    "v1 channels": _enum(lambda: channels.MESSAGES_V1),
    "v0.1 content types": _enum(lambda: sorted({t for c in CHANNELS for t in c.v01_content})),
    "v1 message types": _enum(lambda: sorted({t for c in CHANNELS for t in c.v1_content})),
    "condition statuses": _enum(lambda: channels.CONDITION_STATUSES),
    "expiry range": lambda node: {**node, "minimum": channels.EXPIRY_RANGE[0], "maximum": channels.EXPIRY_RANGE[1]},
    "longest text": lambda node: {**node, "maxLength": max(c.text_max for c in CHANNELS)},
    "longest address": lambda node: {**node, "maxLength": ID_MAX},
    "v0.1 address fields": lambda node: {**node, "properties": {
        **node.get("properties", {}),
        **{k.field: {"type": "string", "minLength": 1, "maxLength": ID_MAX} for k in ADDRESS_KINDS.values()}}},
    "v0.1 options objects": _options("v0.1"),
    "v1 options objects": _options("v1"),
}


def from_table(node: Any) -> Any:
    """Fill every node marked ``x-from-channel-table`` from the channel table."""
    if isinstance(node, dict):
        filled = {k: from_table(v) for k, v in node.items()}
        marker = filled.pop("x-from-channel-table", None)
        return _TABLE[marker](filled) if marker else filled
    if isinstance(node, list):
        return [from_table(v) for v in node]
    return node


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """Replace every local ``$ref`` by its definition (the schemas hold no cycles)."""
    if isinstance(node, dict):
        if set(node) == {"$ref"}:
            return _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def schema(resource: str, definition: str) -> dict[str, Any]:
    """One definition of a schema file, references inlined and its table-driven parts filled from the table."""
    return _schema(resource, definition, channels.version())


@cache
def _schema(resource: str, definition: str, table_version: int) -> dict[str, Any]:
    text = resources.files("fbfailover.sandbox").joinpath("schemas", resource).read_text("utf-8")
    root = from_table(json.loads(text))
    found = _inline(root["$defs"][definition], root["$defs"])
    found["$schema"] = root["$schema"]
    return found


def _validator(resource: str, definition: str) -> Any:
    return _compiled(resource, definition, channels.version())


@cache
def _compiled(resource: str, definition: str, table_version: int) -> Any:
    return jsonschema_rs.validator_for(_schema(resource, definition, table_version))


def field_path(parts: Any) -> str:
    """Render a JSON path (``['workflow', 0, 'failover']``) as ``workflow[0].failover``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def _schema_node(root: dict[str, Any], path: list) -> dict[str, Any]:
    node: Any = root
    for part in path:
        node = node[part]
    return node if isinstance(node, dict) else {}


_ARTICLE = {"integer": "an", "object": "an", "array": "an"}


def _describe(error: Any, root: dict[str, Any]) -> list[tuple[str, str]]:
    """The sandbox's own wording of one schema violation: (field path, reason) pairs."""
    path = field_path(error.instance_path)
    node = _schema_node(root, list(error.schema_path)[:-1])  # the schema holding the failed keyword
    kind = error.kind
    name = type(kind).__name__
    if name == "Required":
        return [(_join(path, kind.property), "is required")]
    if name == "AdditionalProperties":
        return [(_join(path, k), "is not a known field") for k in kind.unexpected] or [(path, "has unknown fields")]
    if name == "Pattern":
        return [(path, node.get("x-reason") or f"must match {kind.pattern}")]
    if name == "Type":
        names = [n for n in kind.types if n != "null"]
        return [(path, " or ".join(f"must be {_ARTICLE.get(n, 'a')} {n}" for n in names))]
    if name == "Enum":
        return [(path, "must be one of: " + ", ".join(str(v) for v in kind.options))]
    if name in ("Minimum", "Maximum"):
        if "minimum" in node and "maximum" in node:
            return [(path, f"must be between {node['minimum']} and {node['maximum']}")]
        return [(path, f"must be at {'least' if name == 'Minimum' else 'most'} {kind.limit}")]
    if name in ("MinLength", "MaxLength"):
        lo, hi = node.get("minLength"), node.get("maxLength")
        if lo is not None and hi is not None:
            return [(path, f"must be between {lo} and {hi} characters long")]
        return [(path, f"must be at {'least' if name == 'MinLength' else 'most'} {kind.limit} characters long")]
    if name == "MinItems":
        return [(path, f"must hold at least {kind.limit} item{'s' if kind.limit != 1 else ''}")]
    if name == "MaxItems":
        return [(path, f"must hold at most {kind.limit} items")]
    return [(path, "is not valid")]


def check(resource: str, definition: str, body: Any) -> Problems:
    """Validate ``body`` against one schema definition; one entry per violation, sorted by field."""
    validator = _validator(resource, definition)
    if validator.is_valid(body):
        return []
    root = schema(resource, definition)
    problems: dict[str, str] = {}
    for error in validator.iter_errors(body):
        for name, reason in _describe(error, root):
            problems.setdefault(name or "body", reason)
    return [{"name": n, "reason": r} for n, r in sorted(problems.items())]


# -- the rules of the channel table -----------------------------------------------------------------------
def _add(problems: Problems, name: str, reason: str) -> None:
    if all(p["name"] != name for p in problems):
        problems.append({"name": name, "reason": reason})


def _check_v01_address(problems: Problems, where: str, addr: dict, channel: channels.Channel, side: str) -> None:
    kind = channel.kind(side)
    value = addr.get(kind.field)
    if value is None:
        _add(problems, f"{where}.{kind.field}", f"is required for the {channel.name} channel")
        return
    reason = kind.problem(value)
    if reason:
        _add(problems, f"{where}.{kind.field}", reason)


def _check_payload(problems: Problems, channel: channels.Channel, api: str, holder: dict, kind: str, where: str,
                   type_field: str) -> None:
    """The content kind must suit the channel, its own field must be there, and text must fit the channel."""
    allowed = channel.content(api)
    if kind not in allowed:
        _add(problems, f"{where}{type_field}",
             f"{kind} is not supported on {channel.name}; use one of: " + ", ".join(sorted(allowed)))
    elif kind not in holder:
        type_name = "content.type" if api == "v0.1" else "message_type"
        _add(problems, f"{where}{kind}", f"is required when {type_name} is {kind}")
    text = holder.get("text")
    if isinstance(text, str) and len(text) > channel.text_max:
        _add(problems, f"{where}text", f"must be at most {channel.text_max} characters on {channel.name}")


def _check_options(problems: Problems, where: str, holder: dict, channel: channels.Channel, api: str) -> None:
    """The rules of the channel's own options object (``holder[<its name in api>]``)."""
    if channel.options is None:
        return
    name = channel.api_name(api)
    for field, reason in channel.options.problems(holder.get(name)):
        _add(problems, f"{where}{name}.{field}", reason)


def _check_v01_item(problems: Problems, where: str, item: dict, allowed: Sequence[str]) -> None:
    to_type, from_type = item["to"]["type"], item["from"]["type"]
    channel = by_name(to_type)
    if channel is None or to_type not in allowed:
        _add(problems, f"{where}to.type", "must be one of: " + ", ".join(allowed))
        return
    if to_type != from_type:
        _add(problems, f"{where}from.type", f"must match to.type ({to_type})")
    _check_v01_address(problems, f"{where}to", item["to"], channel, "to")
    _check_v01_address(problems, f"{where}from", item["from"], channel, "from")
    message = item["message"]
    content = message["content"]
    _check_payload(problems, channel, "v0.1", content, content["type"], f"{where}message.content.", "type")
    _check_options(problems, f"{where}message.", message, channel, "v0.1")


def check_dispatch(body: Any) -> Problems:
    """Validate a ``POST /v0.1/dispatch`` body: schema, then the failover and per-channel rules."""
    if body is None or body == {} or body == "":
        return [{"name": "workflow", "reason": "The workflow JSON Object cannot be empty"}]
    problems = check("dispatch.json", "dispatch", body)
    if problems:
        return problems
    workflow = body["workflow"]
    last = len(workflow) - 1
    for i, item in enumerate(workflow):
        _check_v01_item(problems, f"workflow[{i}].", item, channels.DISPATCH)
        if i < last and "failover" not in item:
            _add(problems, f"workflow[{i}].failover", "is required on every workflow item except the last")
        if i == last and "failover" in item:
            _add(problems, f"workflow[{i}].failover", "must not be set on the last workflow item")
    return problems


def check_message_v01(body: Any) -> Problems:
    """Validate a ``POST /v0.1/messages`` body."""
    if body is None or body == {} or body == "":
        return [{"name": "message", "reason": "The message JSON Object cannot be empty"}]
    problems = check("dispatch.json", "message_v01", body)
    if not problems:
        _check_v01_item(problems, "", body, channels.MESSAGES_V01)
    return problems


def _check_v1_item(problems: Problems, where: str, msg: dict) -> None:
    channel = by_name(msg["channel"])
    assert channel is not None  # the schema's enum comes from the table
    _check_payload(problems, channel, "v1", msg, msg["message_type"], where, "message_type")
    for side in ("to", "from"):
        reason = channel.kind(side).problem(msg[side])
        if reason:
            _add(problems, f"{where}{side}", reason)
    _check_options(problems, where, msg, channel, "v1")


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
