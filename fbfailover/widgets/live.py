"""The live views' shared parts: ``LiveView`` (a view that follows an event source), the ``StaticFallback`` mixin
(what a reader without a kernel sees), escaping and the event source protocol."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["LiveView", "Snapshot", "StaticFallback", "esc", "events_of", "follow_stop", "stream_note", "subscribe_to"]


def esc(value: Any) -> str:
    """HTML-escape ``value`` (None → empty)."""
    return "" if value is None else html.escape(str(value), quote=True)


class Snapshot:
    """A frozen rendering of a view: HTML for GitHub and browsers, deterministic ``text/plain`` for nbval."""

    def __init__(self, html_text: str, plain: str):
        self.html = html_text
        self.plain = plain

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html, "text/plain": self.plain}

    def __repr__(self) -> str:
        return self.plain


class StaticFallback:
    """A widget (this mixin listed before its ipywidgets base) whose display also carries the ``text/plain`` and
    ``text/html`` of what it shows: strict nbval compares the text, and GitHub, nbviewer or any reader without a
    kernel see the HTML. A subclass defines ``static_bundle()``."""

    def static_bundle(self) -> dict[str, str]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if data is not None:
            data.update(self.static_bundle())
        return data


def events_of(source: Any) -> list[Any]:
    """The events of a receiver or store (``.events()``), or of an iterable of events."""
    events = getattr(source, "events", None)
    if callable(events):
        return list(events())
    return list(source)


def subscribe_to(source: Any, callback: Callable[[Any], None]) -> Callable[[], None] | None:
    """Subscribe ``callback`` to new events when ``source`` can notify; return the unsubscribe (or None)."""
    subscribe = getattr(source, "subscribe", None)
    if callable(subscribe):
        return subscribe(callback)
    return None


def follow_stop(source: Any, callback: Callable[[], None]) -> Callable[[], None] | None:
    """Call ``callback()`` when ``source``'s event stream stops, when it can say so; return the unsubscribe."""
    on_stop = getattr(source, "on_stop", None)
    return on_stop(callback) if callable(on_stop) else None


def stream_note(source: Any) -> str:
    """One sentence saying when ``source``'s event stream stopped, or ``""`` while it runs (or for a static list)."""
    stopped = getattr(source, "stopped_at", None)
    if not isinstance(stopped, (int, float)):
        return ""
    when = dt.datetime.fromtimestamp(stopped, dt.timezone.utc).strftime("%H:%M:%S UTC")
    return (f"The event stream stopped at {when} (its receiver was stopped, e.g. when the cell that started it ran "
            f"again): nothing that arrives later shows here.")


def count_by(items: Iterable[Any], order: Iterable[str], attr: str = "kind") -> list[tuple[str, int]]:
    """``[(value, count)]`` for each value in ``order`` that occurs, in that order."""
    values = [getattr(item, attr) for item in items]
    return [(name, values.count(name)) for name in order if name in values]


class LiveView(StaticFallback):
    """What both live views share: a static ``snapshot()``, a deterministic repr, unsubscribing on close, and a
    sentence once their event stream stopped (``stream_note``; ``follow_stop`` redraws them when it does).

    A subclass (also an ipywidgets widget) sets ``_unsubscribe`` and defines ``text()`` and ``html()``.
    """

    _unsubscribe: Callable[[], None] | None = None
    _unfollow_stop: Callable[[], None] | None = None

    def text(self) -> str:  # pragma: no cover - every view overrides it
        raise NotImplementedError

    def html(self) -> str:  # pragma: no cover - every view overrides it
        raise NotImplementedError

    def snapshot(self) -> Snapshot:
        """The view as it is now, as static HTML plus the ``text/plain`` form."""
        return Snapshot(self.html(), self.text())

    def close(self) -> None:
        """Stop listening for events and close the widget."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._unfollow_stop is not None:
            self._unfollow_stop()
            self._unfollow_stop = None
        super().close()  # type: ignore[misc]

    @staticmethod
    def _note_html(source: Any) -> str:
        note = stream_note(source)
        return f"<p class='fbfailover-stream-stopped'><b>{esc(note)}</b></p>" if note else ""

    @staticmethod
    def _note_text(source: Any) -> str:
        note = stream_note(source)
        return f"\n{note}" if note else ""

    def __repr__(self) -> str:
        return self.text()

    def static_bundle(self) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.html()}
