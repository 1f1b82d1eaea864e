"""Channel facts live in the channel table alone: no sandbox module and no sandbox schema names a channel.

A string such as ``"messenger"`` in sandbox code is a per-channel special case that a new channel would not get
(``tests/sandbox/test_add_a_channel.py`` shows that the table is enough). Docstrings may name channels, as
examples; code and schemas may not.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

import fbfailover
from fbfailover.channels import CHANNELS

SANDBOX = Path(fbfailover.__file__).parent / "sandbox"
NAMES = {n for c in CHANNELS for n in (c.name, c.v1_name) if n}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def python_literals(source: str) -> list[tuple[int, str]]:
    """``(line, name)`` of every string constant of ``source`` that is a channel name (docstrings aside)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
            and node.value in NAMES]


def json_literals(node: Any, path: str = "") -> list[tuple[str, str]]:
    """``(path, name)`` of every key or string value of a JSON document that is a channel name."""
    if isinstance(node, dict):
        return [hit for k, v in node.items()
                for hit in ([(f"{path}/{k}", k)] if k in NAMES else []) + json_literals(v, f"{path}/{k}")]
    if isinstance(node, list):
        return [hit for i, v in enumerate(node) for hit in json_literals(v, f"{path}/{i}")]
    return [(path, node)] if isinstance(node, str) and node in NAMES else []


@pytest.mark.parametrize("path", sorted(SANDBOX.rglob("*.py")), ids=lambda p: str(p.relative_to(SANDBOX)))
def test_no_sandbox_module_names_a_channel(path: Path) -> None:
    assert python_literals(path.read_text("utf-8")) == []


@pytest.mark.parametrize("path", sorted(SANDBOX.rglob("*.json")), ids=lambda p: str(p.relative_to(SANDBOX)))
def test_no_sandbox_schema_names_a_channel(path: Path) -> None:
    assert json_literals(json.loads(path.read_text("utf-8"))) == []


def test_the_checks_find_what_they_look_for() -> None:
    source = '"""Messenger, or "sms"."""\nif channel == "sms":\n    body["messenger"] = {}\n'
    assert python_literals(source) == [(2, "sms"), (3, "messenger")]
    assert json_literals({"properties": {"whatsapp": {"enum": ["rcs", "other"]}}}) == [
        ("/properties/whatsapp", "whatsapp"), ("/properties/whatsapp/enum/0", "rcs")]
