"""The failover timeline of one dispatch: one row per message, its statuses on a time axis, the deadline.

Times are the webhooks' own ``timestamp`` fields, in seconds since the dispatch's first status (with the
sandbox these are *simulated* seconds, so a 600 s expiry shows as 600 s however fast it ran). The
``text/plain`` form is deterministic, for strict nbval::

    FailoverTimeline(dispatch, completed): messenger submitted@0s delivered@1s | sms submitted@600s \
delivered@602s | deadline 600s
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import FAILED, STATUS_ORDER, Event, v1_outcome
from fbfailover.widgets._html import LiveView, esc, events_of, follow_stop, subscribe_to

__all__ = [
    "FailoverTimeline",
    "MessageRow",
    "TimelineData",
    "build_timeline",
    "timeline_html",
    "timeline_text",
]

_COLOURS = {"submitted": "#8c8c8c", "delivered": "#1f77b4", "read": "#2ca02c", "rejected": "#d62728",
            "undeliverable": "#d62728", "failed": "#d62728"}


@dataclass(frozen=True)
class MessageRow:
    """One message of the dispatch: its channel and its statuses as ``(status, seconds)``, in order."""

    number: int
    channel: str
    message_uuid: str
    marks: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class TimelineData:
    """Everything the timeline shows, computed from events (no widgets)."""

    dispatch_uuid: str
    state: str  # "waiting", "in progress", "completed" or "error"
    rows: tuple[MessageRow, ...]
    final_at: int | None
    deadline: int | None
    failover_at: int | None
    reason: str | None
    kind: str = "dispatch"  # "workflow" for a Messages API v1 failover (it has no final report)


def _belongs(event: Event, dispatch_uuid: str, listed: frozenset[str] = frozenset()) -> bool:
    """A status of the dispatch (its ``_links``), of the v1 workflow, or listed in the dispatch's final report.

    A Dispatch status in the v1 shape carries no link to its dispatch: the final report names its messages.
    """
    return dispatch_uuid in (event.dispatch_uuid, event.workflow_id) or (
        event.kind == "status" and event.message_uuid in listed)


def _listed(events: list[Event], dispatch_uuid: str) -> frozenset[str]:
    """The message ids the dispatch's final reports list."""
    return frozenset(m["message_uuid"] for e in events if e.kind == "final_report" and e.dispatch_uuid == dispatch_uuid
                     for m in shapes.report_messages(e.body) if m.get("message_uuid"))


def build_timeline(events: list[Event], dispatch_uuid: str, *, expiry_time: float | None = None,
                   condition_status: str | None = None) -> TimelineData:
    """Group a dispatch's status webhooks by message and place them in seconds since its first status.

    Args:
        events: any events (others are ignored); a Messages API v1 ``workflow_id`` works as the id too.
        dispatch_uuid: the dispatch (or v1 workflow) to draw.
        expiry_time: the first message's ``failover.expiry_time``, drawn as the deadline.
        condition_status: its ``failover.condition_status``, used to word the failover reason.
    """
    listed = _listed(events, dispatch_uuid)
    mine = [e for e in events if _belongs(e, dispatch_uuid, listed) and e.time is not None]
    if not mine:
        return TimelineData(dispatch_uuid, "waiting", (), None, None, None, None)
    t0 = min(e.time for e in mine if e.time is not None)

    def seconds(event: Event) -> int:
        return round((event.time - t0).total_seconds()) if event.time is not None else 0

    # Same-moment statuses keep their natural order (submitted before its outcome) whatever order they arrived in.
    statuses = sorted((e for e in mine if e.kind == "status"),
                      key=lambda e: (e.time, STATUS_ORDER.get(e.status or "", 9), e.seq))
    order: list[str] = []
    by_message: dict[str, list[Event]] = {}
    for event in statuses:
        key = event.message_uuid or f"?{event.seq}"
        if key not in by_message:
            order.append(key)
            by_message[key] = []
        by_message[key].append(event)
    finals = [e for e in mine if e.kind == "final_report"]
    final = finals[-1] if finals else None
    arrival = list(order)
    order.sort(key=lambda key: _position(key, by_message[key], final, arrival))
    rows = tuple(
        MessageRow(n, by_message[key][0].channel or "?", key, tuple((e.status or "?", seconds(e))
                                                                    for e in by_message[key]))
        for n, key in enumerate(order, start=1))
    state = (final.status or "completed") if final is not None else "in progress"
    v1 = any(e.workflow_id == dispatch_uuid for e in mine)
    if v1:
        state = v1_outcome(statuses) or "in progress"
    deadline = round(expiry_time) if expiry_time is not None else None
    failover_at = rows[1].marks[0][1] if len(rows) > 1 else None
    reason = None
    if failover_at is not None:
        first_states = {s for s, _ in rows[0].marks}
        failed = next((s for s in FAILED if s in first_states), None)
        reason = failed or (f"not {condition_status}" if condition_status else "deadline passed")
    return TimelineData(dispatch_uuid, state, rows, seconds(final) if final is not None else None, deadline,
                        failover_at, reason, "workflow" if v1 else "dispatch")


def _position(key: str, events: list[Event], final: Event | None, seen: list[str]) -> tuple[int, int]:
    """Where a message stands in its workflow: v1 ``item_number``, else its place in the final report.

    Two messages can start at the same simulated moment (a rejection fails over at once), so the order the
    webhooks arrived in must not decide which row comes first.
    """
    if events[0].item_number is not None:
        return (events[0].item_number, 0)
    uuids = [m.get("message_uuid") for m in shapes.report_messages(final.body if final is not None else None)]
    return (uuids.index(key), 0) if key in uuids else (len(uuids), seen.index(key))


def timeline_text(data: TimelineData) -> str:
    """The deterministic one-line form (no ids, no wall-clock times)."""
    head = f"FailoverTimeline({data.kind}, {data.state})"
    if not data.rows:
        return f"{head}: no events yet"
    parts = [f"{row.channel} " + " ".join(f"{s}@{t}s" for s, t in row.marks) for row in data.rows]
    if data.deadline is not None:
        parts.append(f"deadline {data.deadline}s")
    return f"{head}: " + " | ".join(parts)


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
                         f'border-left:2px dashed #d62728" title="deadline {data.deadline}s"></div>')
    lines = []
    for row in data.rows:
        marks = []
        lanes = [-1.0, -1.0, -1.0]  # where the last label of each lane starts, as a fraction of the axis
        for status, t in row.marks:
            colour = _COLOURS.get(status, "#555")
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
        notes.append(f'<span style="color:#d62728">deadline {data.deadline}s</span>')
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
        if _belongs(event, self.dispatch_uuid) or (event.kind == "status" and event.dispatch_uuid is None):
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
