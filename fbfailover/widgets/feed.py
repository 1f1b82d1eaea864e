"""The live event feed: every webhook as a table row as it arrives, newest first, with its JSON on demand."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import ipywidgets as widgets

from fbfailover.errors import FbfailoverError
from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import KINDS, STATUS_ORDER, Event
from fbfailover.widgets.live import LiveView, count_by, esc, events_of, follow_stop, subscribe_to

__all__ = ["EventFeed", "feed_html", "feed_legend", "feed_text", "simulated_seconds"]

_STYLE = ("border-collapse:collapse;font-family:monospace;font-size:12px",
          "padding:2px 8px;border-bottom:1px solid #ddd;text-align:left")
_COLUMNS = ("received (wall clock)", "time", "kind", "channel", "status", "message id")


def _received(event: Event) -> str:
    if not event.received_at:
        return ""
    moment = dt.datetime.fromtimestamp(event.received_at, dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


_KIND_RANK = {"inbound": 0, "status": 1, "final_report": 2}


def _dispatch_of(events: list[Event]) -> dict[str, str]:
    """message id → dispatch id, from the final reports (a status in the v1 shape names no dispatch)."""
    found: dict[str, str] = {}
    for event in events:
        if event.kind == "final_report" and event.dispatch_uuid:
            for m in shapes.report_messages(event.body):
                if m.get("message_uuid"):
                    found[m["message_uuid"]] = event.dispatch_uuid
    return found


def simulated_seconds(events: list[Event]) -> dict[int, int]:
    """Each status and final report's time, in seconds since the first event of its dispatch or workflow.

    The times are the webhooks' own ``timestamp`` fields: with the sandbox, simulated seconds (a 600 s expiry
    is +600 s here however fast it ran). Events without a timestamp, and inbound messages, are left out.

    Args:
        events: any events of a receiver or store.

    Returns:
        ``{id(event): seconds}`` (events outside a store all have seq 0).
    """
    listed = _dispatch_of(events)
    groups: dict[str, list[Event]] = {}
    for event in events:
        if event.kind == "inbound" or event.time is None:
            continue
        key = event.dispatch_uuid or event.workflow_id or listed.get(event.message_uuid or "") or event.message_uuid
        groups.setdefault(key or f"?{event.seq}", []).append(event)
    offsets: dict[int, int] = {}
    for members in groups.values():
        start = min(e.time for e in members if e.time is not None)
        for e in members:
            if e.time is not None:
                offsets[id(e)] = round((e.time - start).total_seconds())
    return offsets


def feed_legend(time_scale: float | None) -> str:
    """The line under the feed that says what the ``time`` column counts and how fast the sandbox runs.

    Args:
        time_scale: simulated seconds per real second (1 live; None when unknown).
    """
    what = "seconds since the first event of the same dispatch, from each webhook's own timestamp"
    if time_scale is not None and time_scale == 1:
        return f"time: {what}."
    if time_scale is None:
        return f"time: simulated {what} (the received column is the real wall clock)."
    return (f"time: simulated {what}. The sandbox runs {time_scale:g} simulated seconds per real second, so "
            f"+{time_scale:g} s arrives about one real second after +0 s (see the received column).")


def _newest_first(event: Event) -> tuple:
    """Newest first by the webhook's own timestamp, so the order does not depend on which connection won.

    Events without a timestamp sort by arrival. Same-moment events keep their natural order (submitted before
    its outcome, an earlier workflow item before a later one, statuses before the final report).
    """
    moment = event.time.timestamp() if event.time is not None else (event.received_at or 0.0)
    return (-moment, -_KIND_RANK.get(event.kind, 1), -(event.item_number or 0),
            -STATUS_ORDER.get(event.status or "", 0), -(event.seq or 0))


def feed_text(events: list[Event], rejected: int = 0) -> str:
    """Deterministic one-line summary: ``EventFeed: 3 events (status 2, final_report 1)``.

    Unsigned SMS API callbacks a verifying receiver accepted are counted as ``unverified``.
    """
    if not events:
        text = "EventFeed: no events yet"
    else:
        counts = ", ".join(f"{kind} {n}" for kind, n in count_by(events, KINDS))
        text = f"EventFeed: {len(events)} event{'s' if len(events) != 1 else ''} ({counts})"
    unverified = sum(1 for e in events if e.signature == "unverified")
    if unverified:
        text += f", {unverified} unverified"
    if rejected:
        text += f", {rejected} rejected"
    return text


def _kind_cell(event: Event) -> str:
    """The kind, flagged when the webhook was accepted unsigned although signatures are checked."""
    return f"{event.kind} ⚠ unverified" if event.signature == "unverified" else event.kind


def feed_html(events: list[Event], *, limit: int = 50, notices: list[str] | None = None,
              time_scale: float | None = None) -> str:
    """The feed table, newest first (at most ``limit`` rows), with the legend of its ``time`` column.

    Args:
        events: the events, oldest first.
        limit: the most rows shown (0: all).
        notices: lines shown above the table (e.g. the receiver's warnings).
        time_scale: the sandbox's simulated seconds per real second, for the legend (None: unknown).
    """
    table_style, cell = _STYLE
    head = "".join(f'<th style="{cell}">{esc(c)}</th>' for c in _COLUMNS)
    offsets = simulated_seconds(events)
    rows = []
    for event in sorted(events[-limit:] if limit else events, key=_newest_first):
        offset = offsets.get(id(event))
        values = (_received(event), "" if offset is None else f"+{offset} s", _kind_cell(event),
                  event.channel or "", event.status or "", event.message_uuid or event.dispatch_uuid or "")
        rows.append("<tr>" + "".join(f'<td style="{cell}">{esc(v)}</td>' for v in values) + "</tr>")
    if not rows:
        rows.append(f'<tr><td style="{cell}" colspan="{len(_COLUMNS)}"><i>no events yet</i></td></tr>')
    legend = f"<p><small>{esc(feed_legend(time_scale))}</small></p>" if offsets else ""  # inbound only: no times
    notes = "".join(f'<div style="color:#8a6d3b;font-size:12px">{esc(n)}</div>' for n in notices or ())
    return (f'<div class="fbfailover-feed">{notes}<table style="{table_style}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{legend}</div>")


def _speed_of(session: Any) -> float | None:
    """Simulated seconds per real second of a tutorial session: 1 live, the sandbox's clock offline."""
    if session is None:
        return None
    if not getattr(session, "offline", True):
        return 1.0
    try:
        return float(session.sandbox.clock()["time_scale"])
    except (FbfailoverError, AttributeError, KeyError, TypeError, ValueError):  # an older sandbox: say "simulated"
        return None


class EventFeed(LiveView, widgets.VBox):
    """A table of a receiver's events that updates live (newest first) with a JSON toggle.

    Args:
        source: a ``Receiver`` (live), an ``EventStore`` (live) or a list of events (static).
        limit: the most rows shown.
        session: the tutorial session, to say how fast the sandbox's simulated time runs (optional).

    The ``text/plain`` repr is deterministic (counts only); ``snapshot()`` freezes the table as HTML for the
    saved notebook.
    """

    def __init__(self, source: Any, *, limit: int = 50, session: Any = None, **kwargs: Any):
        self.source = source
        self.limit = limit
        self.time_scale = _speed_of(session)
        self.table = widgets.HTML()
        self.select = widgets.Dropdown(description="event", options=[], layout=widgets.Layout(width="420px"))
        self.details = widgets.ToggleButton(description="JSON", value=False, tooltip="show the event's JSON")
        self.output = widgets.Output()
        super().__init__(children=[self.table, widgets.HBox([self.select, self.details]), self.output],
                         **kwargs)
        self.add_class("fbfailover-event-feed")
        self._lock = threading.RLock()
        self._events: list[Event] = []
        self._follow = True
        self._updating = False
        self.details.observe(self._on_details, names="value")
        self.select.observe(self._on_select, names="value")
        # Subscribe first: an event arriving between the first read and the subscription is not missed.
        self._unsubscribe = subscribe_to(source, lambda event: self.refresh())
        self._unfollow_stop = follow_stop(source, self.refresh)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the events and update the table, the event list and the JSON (called on every event)."""
        with self._lock:
            self._events = events_of(self.source)
            self.table.value = self._note_html(self.source) + feed_html(
                self._events, limit=self.limit, time_scale=self.time_scale,
                notices=getattr(self.source, "notices", None))
            shown = list(reversed(self._events[-self.limit:] if self.limit else self._events))
            options = [(f"#{e.seq or len(shown) - i} {e.summary()}", e) for i, e in enumerate(shown)]
            selected = self.select.value
            self._updating = True
            try:
                self.select.options = options
                keep = not self._follow and any(e is selected for e in shown)
                self.select.value = selected if keep else (shown[0] if shown else None)
            finally:
                self._updating = False
            self._show_details()

    def _on_select(self, change: Any) -> None:
        if self._updating:
            return
        with self._lock:
            # Picking the newest event (the top one) means "follow the newest"; any other pins that one.
            options = self.select.options
            self._follow = not options or change["new"] is options[0][1]
            self._show_details()

    def _on_details(self, change: Any = None) -> None:
        with self._lock:
            self._show_details()

    def _show_details(self) -> None:
        event = self.select.value
        if not self.details.value or event is None:
            self.output.outputs = ()
            return
        text = json.dumps(event.body, indent=2, sort_keys=True, default=str)
        self.output.outputs = ({"output_type": "display_data", "metadata": {},
                                "data": {"text/plain": text}},)

    @property
    def events(self) -> list[Event]:
        """The events shown, oldest first."""
        with self._lock:
            return list(self._events)

    def text(self) -> str:
        """The deterministic ``text/plain`` summary."""
        stats = getattr(self.source, "stats", None)
        return feed_text(self.events, getattr(stats, "rejected", 0) if stats is not None else 0) + self._note_text(
            self.source)

    def html(self) -> str:
        """The HTML shown now."""
        return self.table.value
