"""The import boundaries hold: import-linter's contracts from pyproject.toml, run from pytest too."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
HELPERS = {f"fbfailover.{name}" for name in ("config", "errors", "keys", "tokens", "payloads", "client",
                                             "validation")}


def _contract(source: str) -> dict:
    (contract,) = [c for c in CONFIG["contracts"] if source in c.get("source_modules", ())]
    return contract


def test_the_contracts_cover_the_boundaries_of_the_design():
    helpers = _contract("fbfailover.client")
    assert helpers["type"] == "forbidden" and set(helpers["source_modules"]) == HELPERS
    assert {"tornado", "ipywidgets", "fbfailover.sandbox", "fbfailover.webhooks", "fbfailover.widgets",
            "fbfailover.tutorial"} <= set(helpers["forbidden_modules"])
    sandbox = _contract("fbfailover.sandbox")
    assert {"fbfailover.client", "fbfailover.payloads", "fbfailover.validation"} <= set(sandbox["forbidden_modules"])
    assert not any(c.get("allow_indirect_imports") for c in (helpers, sandbox))
    (layers,) = [c for c in CONFIG["contracts"] if c["type"] == "layers" and c.get("containers")]
    assert layers["containers"] == ["fbfailover.sandbox"] and len(layers["layers"]) >= 6


def test_every_contract_is_kept(capsys: pytest.CaptureFixture[str]):
    from importlinter.cli import lint_imports

    code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out


def test_the_sandbox_import_graph_is_at_most_six_levels_deep():
    """Counted at run time (imports for annotations only are excluded), inside ``fbfailover/sandbox/``."""
    import functools

    import grimp

    graph = grimp.build_graph("fbfailover", exclude_type_checking_imports=True)
    inside = {m for m in graph.modules if m.startswith("fbfailover.sandbox.")}

    @functools.cache
    def depth(module: str) -> int:
        below = graph.find_modules_directly_imported_by(module) & inside
        return 1 + max((depth(m) for m in below), default=0)

    deepest = max(inside, key=depth)
    assert depth(deepest) <= 6, deepest
    assert "fbfailover.sandbox.server" in inside and "fbfailover.sandbox.handlers.dispatch" in inside


def import_cycles(graph) -> list[list[str]]:
    """The strongly connected groups of more than one module among ``fbfailover``'s (Tarjan's algorithm)."""
    modules = sorted(m for m in graph.modules if m.startswith("fbfailover"))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:  # recursive: the package's graph is a few hundred modules
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in sorted(graph.find_modules_directly_imported_by(module)):
            if not other.startswith("fbfailover"):
                continue
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_there_is_no_import_cycle_in_the_package():
    """At run time (imports inside functions count; imports for annotations only do not)."""
    import grimp

    assert import_cycles(grimp.build_graph("fbfailover", exclude_type_checking_imports=True)) == []


def test_the_cycle_finder_finds_a_cycle():
    class Graph:
        modules = {"fbfailover.a", "fbfailover.b", "fbfailover.c"}
        edges = {"fbfailover.a": {"fbfailover.b"}, "fbfailover.b": {"fbfailover.a", "fbfailover.c"}}

        def find_modules_directly_imported_by(self, module: str) -> set[str]:
            return self.edges.get(module, set())

    assert import_cycles(Graph()) == [["fbfailover.a", "fbfailover.b"]]


def test_every_package_has_a_contract():
    named = {m for c in CONFIG["contracts"] for m in c.get("source_modules", []) + c.get("layers", [])}
    assert {"fbfailover.sandbox", "fbfailover.tutorial", "fbfailover.widgets", "fbfailover.webhooks"} <= named
