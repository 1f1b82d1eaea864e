"""Predict, then run: a multiple-choice question about a failover, checked against what the run produced.

A ``Prediction`` holds a question, three or four choices (letters a to d), the right one and why. ``answer("b")``
records the learner's choice, once, and reveals nothing; ``compare(run)`` reads what the run did (the webhooks it
received, in simulated seconds) and says whether the prediction held, and why — so a learner who changed the setup
gets the truth about *their* run, not a stored answer. A prediction is made once, before the run: a second answer
with another letter is refused (it says so), so a cell run later can never replace a choice made in the widget.
Both render as HTML and as plain text.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fbfailover.tutorial.display import Panel, Shown

__all__ = ["Choice", "Prediction", "dispatch_outcome", "v1_rejection", "what_happened"]

LETTERS = "abcd"


@dataclass(frozen=True)
class Choice:
    """One answer: its text, and why it is what happens when it is."""

    text: str
    why: str


@dataclass(repr=False)
class Prediction(Shown):
    """A question with lettered choices, the right letter, and a way to read the answer off a run.

    Args:
        question: one or two sentences.
        choices: 3 or 4 ``Choice`` objects, lettered a, b, c, d in order.
        right: the letter of the right choice for the setup the question describes.
        classify: reads a run (an ``Exchange``) and returns (the letter it matches or None, what it did).
    """

    question: str
    choices: list[Choice]
    right: str
    classify: Callable[[Any], tuple[str | None, str]] = field(repr=False)
    chosen: str | None = None
    chosen_by: str | None = None  # "the widget" or "code"
    revealed: bool = False  # True once compare() has said what happened

    def __post_init__(self) -> None:
        if not 3 <= len(self.choices) <= 4:
            raise ValueError("a prediction has 3 or 4 choices")
        if self.right not in self.letters:
            raise ValueError(f"right must be one of {', '.join(self.letters)}")

    @property
    def letters(self) -> str:
        """The letters in use: ``abc`` or ``abcd``."""
        return LETTERS[:len(self.choices)]

    def choice(self, letter: str) -> Choice:
        """The choice behind ``letter``.

        Raises:
            ValueError: for a letter that is not one of the choices.
        """
        letter = str(letter).strip().lower().strip("()")
        if len(letter) != 1 or letter not in self.letters:
            raise ValueError(f"answer with one of the letters {', '.join(self.letters)}")
        return self.choices[self.letters.index(letter)]

    @property
    def explanation(self) -> str:
        """Why the right choice is right."""
        return self.choices[self.letters.index(self.right)].why

    def answer(self, letter: str, *, by: str = "code") -> Panel:
        """Record the learner's prediction (once); nothing is revealed until ``compare(run)``.

        Args:
            letter: the choice, ``"a"`` to ``"d"``.
            by: how it was made, for the message when another answer comes later (``"the widget"``, ``"code"``).

        Returns:
            A panel saying what is recorded. When a prediction was already recorded with another letter, it is
            kept and the panel says so (``data["changed"]`` is False).

        Raises:
            ValueError: for a letter that is not one of the choices.
        """
        picked = self.choice(letter)
        letter = self.letters[self.choices.index(picked)]
        if self.chosen is not None and letter != self.chosen:
            return Panel(f"Your prediction is already ({self.chosen}), recorded with {self.chosen_by}: a prediction "
                         "is made once, before the run, so it stays.", [
                             ("kept", f"({self.chosen}) {self.choice(self.chosen).text}"),
                             "To predict again, make a new question (run the cell that shows it)."],
                         data={"chosen": self.chosen, "changed": False})
        if self.chosen is None:
            self.chosen, self.chosen_by = letter, by
        return Panel(f"Your prediction ({self.chosen}) is recorded.", [
            ("you predict", f"({self.chosen}) {picked.text}"),
            "Now send the request: q.compare(run) then says whether your prediction held."],
            data={"chosen": self.chosen, "changed": True})

    def compare(self, run: Any) -> Panel:
        """Say whether the prediction held for ``run``, from what the run produced (its webhooks).

        Args:
            run: what ``tut.send`` returned.
        """
        if not getattr(run, "accepted", True):
            return Panel("Nothing was sent, so there is nothing to compare the prediction with", [],
                         data={"held": None, "happened": None})
        happened, description = self.classify(run)
        self.revealed = True
        lines: list[Any] = [("the run", description)]
        if happened is not None:
            lines.append(("that is", f"({happened}) {self.choice(happened).text}"))
            lines.append(("why", self.choice(happened).why))
        if self.chosen is None:
            title = ("No prediction was recorded before this run (pick one and press Record next time): here is "
                     "what the run did.")
        elif happened == self.chosen:
            title = f"Your prediction ({self.chosen}) held."
        elif happened is None:
            title = f"Your prediction ({self.chosen}) did not hold: the run matches none of the choices."
        else:
            title = f"Your prediction ({self.chosen}) did not hold: the run did ({happened})."
        return Panel(title, lines, data={"held": happened == self.chosen, "happened": happened})

    # --- rendering ----------------------------------------------------------------------------------------
    def text(self) -> str:
        """The question and its choices as plain lines (the explanation once answered)."""
        out = [self.question]
        out += [f"  ({letter}) {c.text}" for letter, c in zip(self.letters, self.choices, strict=True)]
        out.append(f"  {self._status()}")
        return "\n".join(out)

    def _status(self) -> str:
        if self.chosen:
            return f"your prediction: ({self.chosen}); the run will tell whether it holds (q.compare(run))"
        return 'pick one and press Record (or, in code, q.answer("a"), "b", ...), then send the request'


    def html(self) -> str:
        """The question as HTML: a list of lettered choices (and the explanation once answered)."""
        items = "".join(f"<li><b>({letter})</b> {html.escape(c.text)}</li>"
                        for letter, c in zip(self.letters, self.choices, strict=True))
        after = f"<p><i>{html.escape(self._status())}</i></p>"
        return (f"<div class='fbfailover-panel fbfailover-prediction'><b>Predict:</b> {html.escape(self.question)}"
                f"<ul style='list-style:none'>{items}</ul>{after}</div>")


def what_happened(run: Any) -> tuple[list[tuple[str, int]], str | None, str]:
    """``(submissions, final status, one sentence)`` of a run: which messages went out when, and how it ended.

    The final status is the Dispatch final report's, or None when there is none (Messages API v1).
    """
    if not getattr(run, "sent", False):
        return [], None, "nothing was sent"
    sent = run.submissions()
    report = run.final_report
    final = report.get("status") if report else None
    went = ", ".join(f"{channel} at +{seconds} s" for channel, seconds in sent) or "no message"
    ending = f"the final report says {final}" if final else "no final report"
    return sent, final, f"{went} went out; {ending}"


def _dispatch_letter(run: Any) -> tuple[str | None, str]:
    sent, final, description = what_happened(run)
    channels = [c for c, _ in sent]
    if channels == ["messenger"] and final == "completed":
        return "a", description
    if channels == ["messenger", "sms"]:
        sms_at = sent[1][1]
        if sms_at == 0 and final == "completed":
            return "c", description
        if sms_at > 0:
            return ("b" if final == "completed" else "d" if final == "error" else None), description
    return None, description


def dispatch_outcome(right: str = "b", setup: str = "The recipient never reads the Messenger message.") -> Prediction:
    """The question of step 04: which messages go out, when, and what the final report says.

    Args:
        right: the letter that is right for ``setup`` (one question, four setups: each has its own letter).
        setup: the sentence that says how the sandbox's simulated recipient behaves this time.
    """
    return Prediction(
        f"{setup} Which messages go out, when, and what does the final report say?",
        [Choice("Only the Messenger message; the final report says completed.",
                "the condition (read) was met before the expiry time, so the workflow stops there."),
         Choice("Messenger at once, the SMS at the deadline (600 s later); the final report says completed.",
                "nobody read the Messenger message, so at expiry_time the workflow moved on to the SMS, "
                "which was delivered."),
         Choice("Messenger and the SMS both at once; the final report says completed.",
                "Messenger rejected the message: a failed message moves the workflow on at once, "
                "without waiting for the expiry time."),
         Choice("Messenger at once, the SMS at the deadline; the final report says error.",
                "the last message of the workflow failed (the SMS was undeliverable), so the final report "
                "says error.")],
        right, _dispatch_letter)


def _v1_letter(run: Any) -> tuple[str | None, str]:
    sent, final, description = what_happened(run)
    channels = [c for c, _ in sent]
    if channels == ["messenger"] and final is None:
        return "a", description
    if channels == ["messenger", "sms"]:
        if final is not None:
            return "d", description
        return ("b" if sent[1][1] == 0 else "c"), description
    return None, description


def v1_rejection(right: str = "b") -> Prediction:
    """The question of step 05: Messenger rejects a Messages API v1 message that has an SMS in ``failover``."""
    return Prediction(
        "Messenger rejects this Messages API v1 message. What happens?",
        [Choice("Nothing more: the status says rejected and v1 stops there.",
                "without a failover list (or with the recipient accepting the message) v1 sends one message."),
         Choice("The SMS from the failover list goes out at once; statuses only, no final report.",
                "v1 moves to the next message as soon as one is rejected (only then: an undeliverable message "
                "ends the workflow), and it has no final report: each status carries workflow {id, "
                "item_number, items_total} instead."),
         Choice("The SMS goes out 600 s later, as with Dispatch.",
                "a v1 failover has no timer; only a rejection moves it on."),
         Choice("The SMS goes out at once, then a final report says completed.",
                "final reports belong to the Dispatch API; v1 sends statuses only.")],
        right, _v1_letter)
