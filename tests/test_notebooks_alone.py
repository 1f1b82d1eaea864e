"""Each notebook runs top to bottom on its own, in a fresh kernel with nothing set up before.

Strict nbval runs them in order (each carries the previous one's results forward); here each starts from an
empty ``.env`` and data folder (the autouse fixture of ``tests/conftest.py``) and must create what it needs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_alone_in_a_fresh_environment(path: Path, isolated_settings: Path):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert not (path.parent / ".env").exists(), "a notebook wrote next to itself instead of the configured .env"
