"""What a reader without a kernel sees: the committed notebooks as GitHub and nbviewer show them.

Those renderers show stored outputs only, with no widget state: a widget output falls back to its
``text/html`` or image sibling, else to a ``text/plain`` that ipywidgets cuts at about 110 characters.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
WIDGET = "application/vnd.jupyter.widget-view+json"
FALLBACKS = ("text/html", "image/png", "image/svg+xml")
# ipywidgets' repr cut: "FailoverForm(from_number='…', fb_recipien…"
CUT_REPR = re.compile(r"^\w+\(.*…|…\)?$", re.DOTALL)


def _outputs(nb) -> list[tuple[int, dict]]:
    return [(n, out) for n, cell in enumerate(nb.cells) if cell.cell_type == "code" for out in cell.outputs]


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    """Every committed notebook converted to HTML as it is stored: no execution, no widget state."""
    exporter = HTMLExporter()
    return {path.name: exporter.from_notebook_node(nbformat.read(path, as_version=4))[0] for path in NOTEBOOKS}


@pytest.mark.parametrize("prefix", ["04-", "05-"])
def test_the_failover_notebooks_show_the_timeline_as_a_picture(rendered, prefix):
    (name,) = [n for n in rendered if n.startswith(prefix)]
    page = rendered[name]
    pictures = re.findall(r"<img[^>]+src=\"data:image/png;base64,", page) + re.findall(r"<svg[\s>]", page)
    assert len(pictures) >= 2, f"{name}: the timeline and the sequence diagram should be pictures"
    assert not re.search(r"<pre>\s*(FailoverTimeline|Sequence)\(", page), "the picture's text twin was shown instead"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_output_is_a_bare_widget_repr(path):
    nb = nbformat.read(path, as_version=4)
    for n, out in _outputs(nb):
        data = out.get("data", {})
        plain = data.get("text/plain", "")
        if WIDGET in data:
            assert any(kind in data for kind in FALLBACKS), f"cell {n}: a widget with only its text/plain: {plain!r}"
        assert not CUT_REPR.search(plain), f"cell {n}: a cut repr is all a reader without a kernel sees: {plain!r}"


@pytest.mark.parametrize(("prefix", "node", "python"), [
    ("04-", "nexmo.dispatch.create(\"failover\"", "requests.post("),
    ("05-", "vonage.messages.send({", "client.messages.send("),
])
def test_the_failover_notebooks_show_the_curl_node_and_python_twins(rendered, prefix, node, python):
    (name,) = [n for n in rendered if n.startswith(prefix)]
    page = rendered[name]
    assert "curl -X POST https://api.nexmo.com/" in page
    assert node in page and python in page, f"{name}: a reader without a kernel should see the Node and Python twins"
    assert "not confirmed" not in page.lower()
    if prefix == "04-":
        assert "deprecated" in page


@pytest.mark.parametrize("prefix", ["04-", "05-"])
def test_the_failover_notebooks_show_each_exchange_as_a_table_with_the_json_folded(rendered, prefix):
    (name,) = [n for n in rendered if n.startswith(prefix)]
    page = rendered[name]
    tables = re.findall(r"<table class=.fbfailover-steps.>.*?</table>(.*?)</div>", page, re.DOTALL)
    assert tables, f"{name}: no exchange table"
    for folded in tables:
        assert len(re.findall(r"<details open[^>]*>", folded)) <= 1  # the first webhook, as the example
        assert "<pre" not in folded.split("<details")[0]  # every full JSON is behind a disclosure
    assert any(re.search(r"<details open[^>]*><summary>webhook at \+0 s", folded) for folded in tables)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_output_says_deadline_passed_by_the_deadline(path):
    assert "deadline passed by the deadline" not in path.read_text("utf-8")
