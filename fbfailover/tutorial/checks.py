"""Checked exercises: a task, hints, a solution a learner can load, and a check that says what is missing.

An ``Exercise`` is shown in a notebook next to a cell the learner edits. Its ``check()`` judges the result by
asking the API (the sandbox's records, or the answers the API gives), never by reading the learner's variables,
so any correct solution passes and a wrong one is told what is missing. Each returns a ``CheckResult`` whose
``text/plain`` is the same every run, for strict nbval.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CheckResult", "Exercise", "Hint"]


def _table(title: str, lines: Sequence[str], css: str) -> str:
    rows = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return f"<div class='fbfailover-panel {css}'><b>{html.escape(title)}</b><ul>{rows}</ul></div>"


@dataclass
class CheckResult:
    """The outcome of a check: ``ok``, a one-line verdict and the lines that explain it.

    Attributes:
        ok: True when the exercise is done.
        verdict: one line, e.g. ``"application 'staging' has the right status URL"``.
        lines: what was found and, when not done, what is missing and how to fix it.
    """

    ok: bool
    verdict: str
    lines: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def title(self) -> str:
        """The verdict with its mark: ``✓ Done: …`` or ``✗ Not yet: …``."""
        return f"{'✓ Done' if self.ok else '✗ Not yet'}: {self.verdict}"

    def __repr__(self) -> str:
        return "\n".join([self.title, *(f"  {line}" for line in self.lines)])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        css = "fbfailover-check-ok" if self.ok else "fbfailover-check-not-yet"
        return {"text/plain": repr(self), "text/html": _table(self.title, self.lines, css)}


@dataclass
class Hint:
    """One hint of an exercise, numbered, with a pointer to the next one."""

    exercise: str
    number: int
    total: int
    text: str

    def __repr__(self) -> str:
        more = f" — exercise.hint({self.number + 1}) gives the next one" if self.number < self.total else ""
        return f"Hint {self.number} of {self.total} ({self.exercise}){more}\n  {self.text}"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        title, _, text = repr(self).partition("\n")
        return {"text/plain": repr(self), "text/html": _table(title, [text.strip()], "fbfailover-hint")}


@dataclass
class Exercise:
    """A checked exercise: what to do, hints, a solution file and the function that checks the result.

    Attributes:
        name: a short name, e.g. ``"a second application"``.
        task: what to do, in one or two sentences.
        hints: the hints, from gentle to nearly the answer.
        solution: the solution's path relative to the notebooks folder, for ``%load``.
        checker: called by ``check()`` with its arguments; returns a ``CheckResult``.
    """

    name: str
    task: str
    hints: Sequence[str]
    solution: str
    checker: Callable[..., CheckResult] = field(repr=False)
    hints_shown: int = field(default=0, repr=False)

    def check(self, *args: Any, **kwargs: Any) -> CheckResult:
        """Check the learner's result by asking the API, and say what is missing when it is not done.

        Returns:
            The ``CheckResult``.
        """
        return self.checker(*args, **kwargs)

    def hint(self, number: int | None = None) -> Hint:
        """Return hint ``number`` (1 is the gentlest), or without a number the next one (the last one again).

        Args:
            number: which hint, from 1 to ``len(hints)``.

        Raises:
            ValueError: there is no hint with that number.
        """
        if number is None:
            number = self.hints_shown = min(self.hints_shown + 1, len(self.hints))
        if not 1 <= number <= len(self.hints):
            raise ValueError(f"this exercise has hints 1 to {len(self.hints)}, not {number}")
        return Hint(self.name, number, len(self.hints), self.hints[number - 1])

    def _lines(self) -> list[str]:
        return [self.task, f"hints: exercise.hint(1) to exercise.hint({len(self.hints)})",
                "check: exercise.check(...)", f"solution: %load {self.solution}"]

    def __repr__(self) -> str:
        return "\n".join([f"Exercise: {self.name}", *(f"  {line}" for line in self._lines())])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": _table(f"Exercise: {self.name}", self._lines(),
                                                              "fbfailover-exercise")}
