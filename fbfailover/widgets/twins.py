"""The twins of a request as tabs (curl, Node, Python); the same twins as text and HTML for readers without a kernel."""

from __future__ import annotations

import html

import ipywidgets as widgets

from fbfailover.tutorial.display import code_block
from fbfailover.tutorial.twins import Twins
from fbfailover.widgets.live import StaticFallback

__all__ = ["TwinTabs"]


class TwinTabs(StaticFallback, widgets.VBox):
    """``run.twins()`` as one tab per twin in JupyterLab.

    A notebook stored without widget state (GitHub, nbviewer, a fresh clone) shows the ``text/html`` and
    ``text/plain`` of the same bundle instead: every twin in full, one after another.
    """

    def __init__(self, twins: Twins):
        self.twins = twins
        note = widgets.HTML(f"<b>{html.escape(twins.title)}</b><br>{html.escape(twins.note)}")
        self.tabs = widgets.Tab(children=[widgets.HTML(code_block(t.text, t.language)) for t in twins])
        self.tabs.titles = tuple(t.label.split(":")[0].split(",")[0] for t in twins)
        self.tabs.add_class("fbf-twins-tabs")
        super().__init__(children=[note, self.tabs])
        self.add_class("fbf-twins")

    def __repr__(self) -> str:
        return self.twins.text()

    def static_bundle(self) -> dict[str, str]:
        return self.twins._repr_mimebundle_()
