"""Run All solves nothing for the learner: the committed notebooks (their outputs are a Run All) leave every exercise
unsolved and every prediction unanswered, and hold no solution to run.

The solutions live in ``notebooks/solutions/`` (``%load``-able); ``test_solutions.py`` runs each with its check.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def _outputs(cell) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        text = output.get("text") or output.get("data", {}).get("text/plain", "")
        texts.append("".join(text) if isinstance(text, list) else text)
    return texts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_committed_run_leaves_exercises_unsolved_and_predictions_unanswered(path: Path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [c.source[:60] for c in code if c.get("metadata", {}).get("jupyter", {}).get("source_hidden")], \
        "a hidden cell: Run All runs hidden solutions too"
    assert not [c.source for c in code if re.search(r"\b\w+\.answer\(", c.source)], \
        "a committed cell records a prediction: it would replace the learner's choice"
    shown = [text for c in code for text in _outputs(c)]
    assert not [t for t in shown if "✓ Done" in t], "Run All solved an exercise"
    checks = [t for t in shown if "✗ Not yet" in t]
    exercises = [c for c in code if re.search(r"\bexercise\s*=", c.source)]
    assert len(checks) >= len(exercises), "an exercise without its (unsolved) check in the committed run"
    predictions = [t for t in shown if t.startswith(("Your prediction", "No prediction"))]
    assert all(t.startswith("No prediction was recorded") for t in predictions), predictions

