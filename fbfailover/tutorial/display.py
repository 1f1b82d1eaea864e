"""Small result objects the notebooks show: deterministic ``text/plain`` for nbval, HTML for people."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Panel", "Shown", "code_block", "json_block"]


def json_block(value: Any) -> str:
    """Pretty JSON as it would be sent (keys in their given order)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def code_block(text: str, language: str = "") -> str:
    """An HTML ``<pre>`` block."""
    return f'<pre class="fbfailover-code {language}">{html.escape(text)}</pre>'


class Shown:
    """A result object shown by its ``text()`` (the repr, compared by strict nbval) and its ``html()`` (JupyterLab,
    GitHub, nbviewer). A dataclass subclass says ``repr=False`` so that this repr is kept."""

    def text(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def html(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.html()}


@dataclass
class Panel:
    """A titled block of lines (and optional code) that renders the same way every run.

    Attributes:
        title: one line; lines: ``(label, value)`` pairs or plain strings; code: ``(caption, text)`` blocks.
        data: the machine-readable result (a dict) the step produced, for the next cell to use.
        folded: show each code block behind a disclosure (HTML ``<details>``), closed, under its caption.
    """

    title: str
    lines: list[Any] = field(default_factory=list)
    code: list[tuple[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict, repr=False)
    folded: bool = field(default=False, repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def _plain_lines(self) -> list[str]:
        out = [self.title]
        for line in self.lines:
            out.append(f"  {line[0]}: {line[1]}" if isinstance(line, tuple) else f"  {line}")
        for caption, text in self.code:
            out.append(f"  {caption}:")
            out.extend(f"    {row}" for row in text.splitlines())
        return out

    def __repr__(self) -> str:
        return "\n".join(self._plain_lines())

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(str(line[0]))}</th>"
            f"<td style='text-align:left'>{html.escape(str(line[1]))}</td></tr>"
            if isinstance(line, tuple) else f"<tr><td colspan=2 style='text-align:left'>{html.escape(line)}</td></tr>"
            for line in self.lines)
        if self.folded:
            blocks = "".join(f"<details><summary>{html.escape(c)}</summary>{code_block(t)}</details>"
                             for c, t in self.code)
        else:
            blocks = "".join(f"<div><i>{html.escape(c)}</i>{code_block(t)}</div>" for c, t in self.code)
        return f"<div class='fbfailover-panel'><b>{html.escape(self.title)}</b><table>{rows}</table>{blocks}</div>"
