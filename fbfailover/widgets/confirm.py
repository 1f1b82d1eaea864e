"""``ConfirmChange``: show a step's change (old → new) and apply it only when the learner clicks Confirm.

A thin skin over steps that take ``confirm=`` (``configure_account_webhooks``, ``restore_account_webhooks``,
``ensure_application``): the step runs once without confirmation when the widget is built; when its panel
says ``pending``, the Confirm button (or ``submit()``) runs it again with ``confirm=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from fbfailover.errors import FbfailoverError
from fbfailover.tutorial import Panel
from fbfailover.widgets.live import StaticFallback

__all__ = ["ConfirmChange"]


class ConfirmChange(StaticFallback, widgets.VBox):
    """The change a step proposes, with a Confirm button while it waits.

    Args:
        step: a tutorial step taking ``(tut, ..., confirm=...)`` and returning a ``Panel``.
        args, kwargs: passed to ``step``.

    Attributes:
        result: the last panel (the proposed change, then the applied one).
    """

    def __init__(self, step: Callable[..., Panel], *args: Any, **kwargs: Any):
        self._step, self._args, self._kwargs = step, args, kwargs
        self.button = widgets.Button(description="Confirm", button_style="warning",
                                     tooltip="apply the change shown above")
        self.button.add_class("fbf-confirm-submit")
        self.output = widgets.Output()
        self.output.add_class("fbf-confirm-output")
        super().__init__(children=[self.output, self.button])
        self.add_class("fbf-confirm")
        self.button.on_click(self._clicked)
        self.result: Panel = self._run(confirm=None)

    @property
    def pending(self) -> bool:
        """True while the change waits for confirmation."""
        return bool(self.result.data.get("pending"))

    def _run(self, confirm: bool | None) -> Panel:
        self.result = self._step(*self._args, **self._kwargs, confirm=confirm)
        self.output.outputs = ()
        self.output.append_display_data(self.result)
        self.button.disabled = not self.pending
        self.button.layout.display = None if self.pending else "none"
        return self.result

    def submit(self) -> Panel:
        """Apply the change (``confirm=True``) and show what was done; returns the step's panel."""
        return self._run(confirm=True)

    def _clicked(self, _button: Any = None) -> None:
        try:
            self.submit()
        except FbfailoverError as exc:  # keep the failure visible next to the change it concerns
            self.output.append_display_data(Panel(f"Error: {exc}", []))

    def static_bundle(self) -> dict[str, str]:
        return {"text/plain": repr(self.result), "text/html": self.result._repr_html_()}

    def __repr__(self) -> str:
        return f"ConfirmChange({'pending' if self.pending else 'done'}: {self.result.title})"
