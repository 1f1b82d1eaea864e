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
    (layers,) = [c for c in CONFIG["contracts"] if c["type"] == "layers"]
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
