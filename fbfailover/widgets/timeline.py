"""The failover timeline of one dispatch, live: one row per message, its statuses on a time axis, the deadline.

The model (``TimelineData``, ``build_timeline``, the text form and the palette) is ``timeline_model.py``; this
module draws it as HTML and keeps it live. Times are the webhooks' own ``timestamp`` fields, in seconds since
the dispatch's first status (with the sandbox these are *simulated* seconds, so a 600 s expiry shows as 600 s
however fast it ran). The ``text/plain`` form is deterministic, for strict nbval::

    FailoverTimeline(dispatch, completed): messenger submitted@0s delivered@1s | sms submitted@600s \
delivered@602s | deadline 600s
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets

from fbfailover.webhooks.events import Event
from fbfailover.widgets.live import LiveView, esc, events_of, follow_stop, subscribe_to
from fbfailover.widgets.timeline_model import (
    COLOURS,
    DEADLINE_COLOUR,
    MessageRow,
    TimelineData,
    belongs,
    build_timeline,
    timeline_text,
)

__all__ = [
    "FailoverTimeline",
    "MessageRow",
    "TimelineData",
    "build_timeline",
    "timeline_html",
    "timeline_text",
]

def _pct(t: float, span: float) -> str:
    return f"{100 * t / span:.2f}%"


def timeline_html(data: TimelineData) -> str:
    """The timeline as self-contained HTML (inline styles only, so it renders on GitHub too)."""
    title = f"{data.kind.capitalize()} {esc(data.dispatch_uuid)} — {esc(data.state)}"
    if not data.rows:
        return (f'<div class="fbfailover-timeline" style="font-family:sans-serif;font-size:12px">'
                f"<b>{title}</b><div><i>no status webhooks yet</i></div></div>")
    ends = [t for row in data.rows for _, t in row.marks] + [data.deadline or 0, data.final_at or 0]
    span = max(max(ends) * 1.1, 1.0)
    deadline_line = ""
    if data.deadline is not None:
        deadline_line = (f'<div style="position:absolute;left:{_pct(data.deadline, span)};top:0;bottom:0;'
                         f'border-left:2px dashed {DEADLINE_COLOUR}" title="deadline {data.deadline}s"></div>')
    lines = []
    for row in data.rows:
        marks = []
        lanes = [-1.0, -1.0, -1.0]  # where the last label of each lane starts, as a fraction of the axis
        for status, t in row.marks:
            colour = COLOURS.get(status, "#555")
            # a label is about a seventh of the axis wide: use the first lane it does not overlap in
            lane = next((i for i, start in enumerate(lanes) if t / span - start > 0.15),
                        min(range(len(lanes)), key=lanes.__getitem__))
            lanes[lane] = t / span
            top = f"{20 * lane}px"
            if t / span > 0.6:  # label to the left of the dot, so it stays inside the track
                label, shift = f"{esc(status)} {t}s &#9679;", "transform:translateX(-100%);"
            else:
                label, shift = f"&#9679; {esc(status)} {t}s", ""
            marks.append(
                f'<div style="position:absolute;left:{_pct(t, span)};top:{top};white-space:nowrap;{shift}'
                f'color:{colour}">{label}</div>')
        lines.append(
            f'<div style="display:flex;align-items:center;margin:2px 0">'
            f'<div style="width:110px;flex:none"><b>{row.number}</b> {esc(row.channel)}</div>'
            f'<div style="position:relative;flex:1;height:60px;border-left:1px solid #999;'
            f'border-bottom:1px solid #ddd">{deadline_line}{"".join(marks)}</div></div>')
    notes = [f"0s … {round(span)}s (seconds since the first status)"]
    if data.deadline is not None:
        notes.append(f'<span style="color:{DEADLINE_COLOUR}">deadline {data.deadline}s</span>')
    if data.failover_at is not None:
        notes.append(f"<b>failover to {esc(data.rows[1].channel)} after {data.failover_at} s "
                     f"({esc(data.reason)})</b>")
    if data.final_at is not None:
        notes.append(f"final report {esc(data.state)} at {data.final_at}s")
    return (f'<div class="fbfailover-timeline" style="font-family:sans-serif;font-size:12px">'
            f"<b>{title}</b>{''.join(lines)}<div style=\"margin-left:110px\">{' · '.join(notes)}</div></div>")


class FailoverTimeline(LiveView, widgets.HTML):
    """The failover timeline of one dispatch, live while events arrive.

    Args:
        source: a ``Receiver`` or ``EventStore`` (updates live), or a list of events (static).
        dispatch_uuid: the dispatch to draw (a Messages API v1 ``workflow_id`` works too).
        expiry_time: the first message's ``failover.expiry_time``, drawn as the deadline.
        condition_status: its ``failover.condition_status`` (for the wording of the failover reason).

    Its display data holds, beside the live view, a PNG of the timeline (what GitHub, nbviewer and any reader
    without a kernel see) and the deterministic ``text/plain`` (see the module docstring). ``picture()`` and
    ``sequence()`` are the PNGs alone; ``snapshot()`` is static HTML.
    """

    def __init__(self, source: Any, dispatch_uuid: str, *, expiry_time: float | None = None,
                 condition_status: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.add_class("fbfailover-failover-timeline")
        self.source = source
        self.dispatch_uuid = dispatch_uuid
        self.expiry_time = expiry_time
        self.condition_status = condition_status
        self._lock = threading.RLock()
        self.data = build_timeline([], dispatch_uuid)
        self._unsubscribe = subscribe_to(source, self._on_event)  # before reading: nothing is missed
        self._unfollow_stop = follow_stop(source, self.refresh)
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if belongs(event, self.dispatch_uuid) or (event.kind == "status" and event.dispatch_uuid is None):
            self.refresh()

    def refresh(self) -> None:
        """Recompute from the source's events and redraw."""
        with self._lock:
            self.data = build_timeline(events_of(self.source), self.dispatch_uuid,
                                       expiry_time=self.expiry_time, condition_status=self.condition_status)
            self.value = self._note_html(self.source) + timeline_html(self.data)

    def text(self) -> str:
        """The deterministic ``text/plain`` form."""
        return timeline_text(self.data) + self._note_text(self.source)

    def html(self) -> str:
        """The HTML shown now."""
        return self.value

    def picture(self) -> Any:
        """The timeline as it is now, as a PNG with its ``text/plain`` twin (a ``pictures.Picture``)."""
        from fbfailover.widgets.pictures import timeline_picture

        return timeline_picture(self.data)

    def sequence(self) -> Any:
        """The requests and webhooks so far as a sequence diagram: a PNG with one text line per step."""
        from fbfailover.widgets.pictures import sequence_picture

        return sequence_picture(self.data)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The live view, the PNG for readers without a kernel, and the deterministic text.

        No ``text/html``: renderers prefer it to a PNG, and GitHub strips the inline styles it is drawn with.
        """
        data = widgets.HTML._repr_mimebundle_(self, **kwargs)
        if data is not None:
            data.pop("text/html", None)
            data.update(self.picture()._repr_mimebundle_())
        return data
