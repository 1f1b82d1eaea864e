"""Widgets of the active parts of steps 04 and 05: a prediction to answer, and a clock to step.

Both are thin skins: ``Quiz`` over ``tutorial.predictions.Prediction`` (``answer``/``compare``), ``ClockStepper``
over ``tutorial.stepped_clock.SteppedClock`` (``advance``). Each keeps a readable ``text/plain`` and ``text/html``
in its display, so a reader without a kernel sees the question or the clock, not a cut widget repr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from fbfailover.errors import FbfailoverError
from fbfailover.tutorial.display import Panel
from fbfailover.tutorial.predictions import Prediction
from fbfailover.tutorial.stepped_clock import SteppedClock
from fbfailover.widgets.live import StaticFallback

__all__ = ["ClockStepper", "Quiz"]


class Quiz(StaticFallback, widgets.VBox):
    """A prediction as radio buttons and a Record button; ``answer("b")`` and ``compare(run)`` work in code too.

    Record keeps the choice and reveals nothing; the choice is then locked (the buttons are disabled), and a later
    ``answer()`` with another letter is refused with a sentence, never applied. ``compare(run)`` shows whether the
    prediction held, here and in its cell; before any prediction, the widget stays open for the next run.
    """

    def __init__(self, prediction: Prediction):
        self.prediction = prediction
        self.question = widgets.HTML(f"<b>Predict:</b> {prediction.question}")
        self.options = widgets.RadioButtons(
            options=[(f"({letter}) {c.text}", letter) for letter, c in zip(prediction.letters, prediction.choices,
                                                                           strict=True)],
            value=None, layout=widgets.Layout(width="auto"))
        self.button = widgets.Button(description="Record my prediction", button_style="primary",
                                     layout=widgets.Layout(width="auto"))
        self.result = widgets.HTML("")
        for part, name in ((self.options, "choices"), (self.button, "check"), (self.result, "result")):
            part.add_class(f"fbf-quiz-{name}")
        # The result goes under the button, across the whole width: its table's labels never wrap in a narrow box.
        super().__init__([self.question, self.options, widgets.HBox([self.button]), self.result])
        self.add_class("fbf-quiz")
        self.button.on_click(lambda _b: self._checked())

    def _checked(self) -> None:
        if self.options.value is None:
            self.result.value = "<span>pick one of the answers first</span>"
            return
        self._record(self.options.value, "the widget")

    def _record(self, letter: str, by: str) -> Panel:
        panel = self.prediction.answer(letter, by=by)
        self.options.value = self.prediction.chosen
        self.options.disabled = self.button.disabled = True
        self.result.value = panel._repr_html_()
        return panel

    def answer(self, letter: str) -> Panel:
        """Record ``letter`` as the prediction (once; it selects it and locks the buttons); reveals nothing.

        Raises:
            ValueError: for a letter that is not one of the choices.
        """
        return self._record(letter, "code")

    def compare(self, run: Any) -> Panel:
        """Whether the prediction held for ``run`` (read off its webhooks); the widget shows it too.

        Without a recorded prediction the widget stays open: the learner can record one for the next run.
        """
        panel = self.prediction.compare(run)
        if self.prediction.chosen is None:
            self.result.value = ("<span>No prediction was recorded before that run. To predict the next one, pick "
                                 "an answer and press Record, then send again and compare.</span>")
        else:
            self.result.value = panel._repr_html_()
        return panel

    def __repr__(self) -> str:
        return self.prediction.text()

    def static_bundle(self) -> dict[str, str]:
        return self.prediction._repr_mimebundle_()


class ClockStepper(StaticFallback, widgets.VBox):
    """Buttons that move a ``SteppedClock`` (+1 s, +60 s, to 599 s, to the deadline), one that starts the same
    dispatch again, and the view after each step.

    The view follows the clock wherever it is moved from (a cell below calling ``clock.advance(1)`` too), so it
    always shows where the clock stands; a button that would go back says so and moves nothing.
    """

    def __init__(self, clock: SteppedClock):
        self.clock = clock
        deadline = clock.deadline or 600
        self.buttons = {
            "+1 s": lambda: clock.advance(1),
            "+60 s": lambda: clock.advance(60),
            f"to {deadline - 1} s": lambda: clock.advance_to(deadline - 1),
            f"to the deadline ({deadline} s)": lambda: clock.advance_to(deadline),
        }
        row = []
        for n, (label, step) in enumerate(self.buttons.items()):
            button = widgets.Button(description=label, layout=widgets.Layout(width="auto"))
            button.add_class(f"fbf-clock-step-{n}")
            button.on_click(lambda _b, step=step: self._step(step))
            row.append(button)
        self.restart = widgets.Button(description="start this dispatch again", icon="rotate-left",
                                      tooltip="send the same body again on this clock, watched from +0 s",
                                      layout=widgets.Layout(width="auto"))
        self.restart.add_class("fbf-clock-restart")
        self.restart.on_click(lambda _b: self._step(clock.restart))
        row.append(self.restart)
        self.view = widgets.HTML(clock.view()._repr_html_())
        self.view.add_class("fbf-clock-view")
        super().__init__([widgets.HBox(row, layout=widgets.Layout(flex_flow="row wrap")), self.view])
        self.add_class("fbf-clock")
        # The clock tells this stepper when anything moves it (until the stepper is closed).
        clock.listeners.append(self._show)

    def close(self) -> None:
        """Close the widget and stop following the clock."""
        if self._show in self.clock.listeners:
            self.clock.listeners.remove(self._show)
        super().close()

    def _step(self, step: Callable[[], Panel]) -> None:
        """One button's step; a failure is shown in this stepper (a replaced clock says which one to use)."""
        try:
            panel = step()
        except FbfailoverError as exc:
            panel = Panel(f"Nothing moved: {exc}", [])
        self._show(panel)
        if self.clock.replaced:
            for button in self.children[0].children:
                button.disabled = True

    def _show(self, panel: Panel) -> None:
        self.view.value = panel._repr_html_()

    def __repr__(self) -> str:
        return repr(self.clock.view())

    def static_bundle(self) -> dict[str, str]:
        view = self.clock.view()
        return {"text/plain": f"ClockStepper (buttons: {', '.join(self.buttons)})\n{view!r}",
                "text/html": view._repr_html_()}
