"""Each notebook runs top to bottom on its own, in a fresh kernel with nothing set up before.

Strict nbval runs them in order (each carries the previous one's results forward); here each starts from an
empty ``.env`` and data folder (the autouse fixture of ``tests/conftest.py``) and must create what it needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kernels import run_notebook

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_alone_in_a_fresh_environment(path: Path, isolated_settings: Path):
    assert run_notebook(path, timeout=120) == []
    assert not (path.parent / ".env").exists(), "a notebook wrote next to itself instead of the configured .env"
