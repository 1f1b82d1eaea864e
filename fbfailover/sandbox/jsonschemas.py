"""The sandbox's own JSON Schemas (``schemas/``), compiled once, and its own wording of each violation.

``jsonschema`` explains what is wrong; ``fastjsonschema`` compiles the same schema to Python code for the fast
path of valid bodies. Every check returns a list of ``{"name": <field path>, "reason": <text>}`` entries, one per
violation, in the shape of Vonage's ``invalid_parameters``; an empty list means the body is valid.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

__all__ = ["Problems", "check", "field_path"]

Problems = list[dict[str, str]]


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
