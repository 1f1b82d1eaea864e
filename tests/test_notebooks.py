"""Static checks of the committed notebooks: what strict nbval cannot see on its own.

A code cell without stored output is only checked for exceptions by nbval, so every code cell must carry
its output; error outputs, empty cells, another kernel or a secret in an output fail here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
EXPECTED = [
    "00-start-here.ipynb",
    "01-configure-webhooks.ipynb",
    "02-create-an-application.ipynb",
    "03-generate-a-jwt.ipynb",
    "04-send-a-facebook-message-with-failover.ipynb",
    "05-messages-api-failover.ipynb",
    "06-when-things-go-wrong.ipynb",
]
SOLUTIONS = Path(__file__).resolve().parent.parent / "notebooks" / "solutions"

PEM_PRIVATE = re.compile(r"-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----")
# A complete JWT: header and claims are base64url JSON objects, then a signature segment.
FULL_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
# A secret printed next to its name, unmasked (masked values contain '*' or '…').
SECRET_ASSIGNMENT = re.compile(
    r"(api_secret|API_SECRET|signature_secret|SIGNATURE_SECRET)['\"]?\s*[:=]\s*['\"]?([A-Za-z0-9]{6,})"
)


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _output_texts(cell: dict):
    for output in cell.get("outputs", []):
        if "text" in output:
            yield "".join(output["text"])
        for value in output.get("data", {}).values():
            yield value if isinstance(value, str) else "".join(value) if isinstance(value, list) else json.dumps(value)
        if output.get("output_type") == "error":
            yield "\n".join(output.get("traceback", []))


def test_the_tutorial_notebooks_are_all_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def notebook(request) -> tuple[Path, dict]:
    return request.param, _load(request.param)


def test_kernelspec_is_python3(notebook):
    _, nb = notebook
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_no_stored_widget_state(notebook):
    _, nb = notebook
    assert "widgets" not in nb["metadata"], "drop metadata.widgets: stored widget state changes every run"


def test_no_empty_cells(notebook):
    _, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        assert "".join(cell["source"]).strip(), f"cell {index} is empty"


def test_every_code_cell_has_stored_output_and_no_error(notebook):
    _, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        outputs = cell.get("outputs", [])
        assert outputs, f"code cell {index} has no stored output: strict nbval would not compare it"
        assert not [o for o in outputs if o.get("output_type") == "error"], f"code cell {index} stored an error"
        assert cell.get("execution_count") is not None, f"code cell {index} was never run"


def test_no_secret_in_any_output(notebook):
    _, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        for text in _output_texts(cell):
            assert not PEM_PRIVATE.search(text), f"cell {index} shows a private key"
            assert not FULL_JWT.search(text), f"cell {index} shows a complete JWT"
            assert not SECRET_ASSIGNMENT.search(text), f"cell {index} shows a secret"


def test_each_notebook_ends_with_what_you_saw_and_try_this(notebook):
    _, nb = notebook
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert re.search(r"^#+ What you saw", markdown, re.M), "missing a 'What you saw' section"
    assert re.search(r"^#+ Try this", markdown, re.M), "missing a 'Try this' section"


def test_cells_stay_small(notebook):
    _, nb = notebook
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            lines = [line for line in "".join(cell["source"]).splitlines() if line.strip()]
            assert len(lines) <= 12, f"code cell {index} has {len(lines)} lines: move logic into fbfailover"


def test_every_solution_file_is_offered_by_a_notebook():
    markdown = "\n".join("".join(c["source"]) for p in NOTEBOOKS for c in _load(p)["cells"])
    for path in SOLUTIONS.glob("*.py"):
        assert f"%load solutions/{path.name}" in markdown, f"no notebook tells how to %load {path.name}"


def test_secret_checks_catch_what_they_should():
    # The patterns above must not be toothless.
    assert PEM_PRIVATE.search("-----BEGIN PRIVATE KEY-----\nMIIE")
    token = "eyJhbGciOiJSUzI1NiJ9.eyJhcHBsaWNhdGlvbl9pZCI6IjEifQ.c2lnbmF0dXJlc2lnbmF0dXJlc2ln"
    assert FULL_JWT.search(token)
    assert not FULL_JWT.search("eyJhbGciOiJSUzI1NiJ9.eyJhcHBsaWNhdGlvbl9pZCI6IjEifQ.<signature>")
    assert SECRET_ASSIGNMENT.search("api_secret='abcdef123456'")
    assert not SECRET_ASSIGNMENT.search("api_secret='ab***'")
