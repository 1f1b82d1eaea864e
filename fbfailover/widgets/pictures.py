"""Pictures of a failover that survive without a kernel: the timeline and a sequence diagram, as PNG.

GitHub and nbviewer show a notebook's stored outputs only: a widget without saved state is reduced to its
``text/plain``, and inline styles in HTML may be stripped. A PNG always shows. The pictures are drawn with
matplotlib's object API (``Figure`` + ``FigureCanvasAgg``), so the kernel's pyplot backend and ``rcParams``
are never touched, and they hold no ids or wall-clock times: the times are the webhooks' own (simulated, in
the sandbox) seconds since the first status, so the same run draws the same picture.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

from fbfailover.widgets.timeline_model import COLOURS, DEADLINE_COLOUR, TimelineData, timeline_text

__all__ = ["Picture", "Step", "sequence_picture", "sequence_png", "sequence_steps", "sequence_text", "timeline_picture",
           "timeline_png"]

_DPI = 100
_YOU, _API, _HOOKS = "your code", "Vonage API", "your webhooks"


class Picture:
    """A PNG with a short ``text/plain`` twin (the text is what strict nbval compares; it skips images).

    Args:
        png: the PNG bytes.
        text: the deterministic text form (also the ``repr``).
    """

    def __init__(self, png: bytes, text: str):
        self.png = png
        self.text = text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": self.text}

    def __repr__(self) -> str:
        return self.text


def _figure(width: float, height: float) -> Any:
    """A figure with its own Agg canvas (never pyplot: the kernel's backend and rcParams stay as they are)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    """The figure as PNG bytes, with no software version or date in the file (the same run, the same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI, metadata={"Software": None})
    return buffer.getvalue()


def _title(data: TimelineData) -> str:
    name = "Dispatch workflow (v0.1)" if data.kind == "dispatch" else "Messages API v1 workflow"
    return f"{name}: {data.state}"


def timeline_png(data: TimelineData) -> bytes:
    """Draw the timeline: one row per message, its statuses as dots at their second, the deadline dashed.

    Args:
        data: what ``build_timeline`` computed.

    Returns:
        The PNG bytes (800 px wide).
    """
    rows = data.rows
    lanes = max(len(rows), 1) + 0.45  # each row 0.9 in, with room under the last for its stacked labels
    height = 1.25 + 0.9 * lanes
    fig = _figure(8.0, height)
    ax = fig.add_axes((0.13, 0.7 / height, 0.83, 0.9 * lanes / height))
    ends = [t for row in rows for _, t in row.marks] + [data.deadline or 0, data.final_at or 0]
    span = max(max(ends) * 1.12, 10.0)
    ax.set_xlim(-span * 0.03, span)
    ax.set_ylim(max(len(rows), 1) + 0.8, 0.35)
    ax.set_yticks(range(1, len(rows) + 1), [f"{row.number} {row.channel}" for row in rows])
    ax.set_xlabel("seconds since the first status (simulated in the sandbox)")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if data.deadline is not None:
        ax.axvline(data.deadline, color=DEADLINE_COLOUR, linestyle="--", linewidth=1.2)
        ax.text(data.deadline, 0.45, f" deadline {data.deadline} s", color=DEADLINE_COLOUR, fontsize=9, va="top")
    if not rows:
        ax.text(span / 2, 1, "no status webhooks yet", ha="center", va="center", style="italic")
    for y, row in enumerate(rows, start=1):
        times = [t for _, t in row.marks]
        ax.plot([min(times), max(times)], [y, y], color="#cccccc", linewidth=3, zorder=1)
        last_x: float | None = None
        level = 0
        for status, t in row.marks:
            colour = COLOURS.get(status, "#555555")
            ax.plot([t], [y], "o", color=colour, markersize=8, zorder=2)
            # labels of statuses a few seconds apart would overlap: stack them
            level = level + 1 if last_x is not None and (t - last_x) < span * 0.12 else 0
            last_x = t
            right = t > span * 0.7
            ax.annotate(f"{status} {t} s", (t, y), xytext=(-6 if right else 6, -10 - 13 * level),
                        textcoords="offset points", ha="right" if right else "left", va="center", fontsize=9,
                        color=colour)
    note = _title(data)
    if data.failover_at is not None:
        note += f" — failover to {data.rows[1].channel} after {data.failover_at} s ({data.reason})"
    elif rows and data.state not in ("in progress", "waiting"):
        note += " — no failover"
    fig.suptitle(note, fontsize=10, x=0.02, ha="left", y=1 - 0.08 / height, va="top")
    return _png(fig)


@dataclass(frozen=True)
class Step:
    """One arrow of the sequence diagram: at ``seconds``, ``source`` tells ``target`` something."""

    seconds: int
    source: str
    target: str
    label: str
    reply: bool = False  # drawn dashed: an answer or a report, not a request


def sequence_steps(data: TimelineData) -> list[Step]:
    """The requests and webhooks of one failover, in order: you → API → Messenger/SMS → webhooks → you.

    Args:
        data: what ``build_timeline`` computed (its times are seconds since the first status).

    Returns:
        The steps, ordered by time; same-moment steps keep the order they happen in.
    """
    v1 = data.kind == "workflow"
    steps = [Step(0, _YOU, _API, "POST /v1/messages" if v1 else "POST /v0.1/dispatch"),
             Step(0, _API, _YOU, "202 message_uuid, workflow_id" if v1 else "202 dispatch_uuid", reply=True)]
    for index, row in enumerate(data.rows):
        start = row.marks[0][1] if row.marks else 0
        if index > 0 and data.reason is not None:
            # "not read" reads on ("not read by the deadline"); a failure or "deadline passed" says it all
            why = f"{data.reason} by the deadline" if data.reason.startswith("not ") else data.reason
            steps.append(Step(start, _API, _API, f"failover: {why}"))
        steps.append(Step(start, _API, row.channel, f"message {row.number}"))
        for status, t in row.marks:
            if status != "submitted":
                steps.append(Step(t, row.channel, _API, status, reply=True))
            steps.append(Step(t, _API, _HOOKS, f"status {status} ({row.channel})", reply=True))
    if data.final_at is not None:
        steps.append(Step(data.final_at, _API, _HOOKS, f"final report: {data.state}", reply=True))
    if data.rows and data.state not in ("in progress", "waiting"):
        end = max([t for row in data.rows for _, t in row.marks] + [data.final_at or 0])
        steps.append(Step(end, _HOOKS, _YOU, f"events read: {data.state}", reply=True))
    order = {id(step): n for n, step in enumerate(steps)}
    return sorted(steps, key=lambda step: (step.seconds, order[id(step)]))


def sequence_text(data: TimelineData) -> str:
    """The sequence diagram as short deterministic lines (``+600 s  Vonage API → sms: message 2``)."""
    steps = sequence_steps(data)
    lines = [f"Sequence({data.kind}, {data.state}): {len(steps)} steps"]
    lines += [f"  +{s.seconds} s  {s.source}{'' if s.source == s.target else ' → ' + s.target}: {s.label}"
              for s in steps]
    return "\n".join(lines)


def _lifelines(data: TimelineData) -> list[str]:
    channels = list(dict.fromkeys(row.channel for row in data.rows)) or ["messenger", "sms"]
    return [_YOU, _API, *channels, _HOOKS]


def sequence_png(data: TimelineData) -> bytes:
    """Draw the sequence diagram: one lifeline per party, one arrow per step, its time on the left.

    Args:
        data: what ``build_timeline`` computed.

    Returns:
        The PNG bytes (800 px wide, taller with more steps).
    """
    steps = sequence_steps(data)
    names = _lifelines(data)
    x = {name: i for i, name in enumerate(names)}
    height = 1.3 + 0.36 * len(steps)
    fig = _figure(8.0, height)
    ax = fig.add_axes((0.1, 0.1 / height, 0.88, (height - 0.75) / height))
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylim(len(steps) + 0.2, -0.9)
    ax.axis("off")
    for name, i in x.items():
        ax.plot([i, i], [-0.3, len(steps) + 0.1], color="#bbbbbb", linewidth=1, zorder=0)
        ax.text(i, -0.5, name, ha="center", va="center", fontsize=9, weight="bold",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#f2f2f2", "edgecolor": "#999999"})
    previous = None
    for y, step in enumerate(steps, start=1):
        if step.seconds != previous:  # each moment once, on the left
            ax.text(-0.55, y, f"+{step.seconds} s", ha="left", va="center", fontsize=9, color="#444444")
            previous = step.seconds
        colour = COLOURS.get(step.label.split()[-1] if step.reply else "", "#333333")
        if "status" in step.label:
            colour = COLOURS.get(step.label.split()[1], "#333333")
        a, b = x.get(step.source, x[_API]), x.get(step.target, x[_API])
        if a == b:  # a decision of the API itself
            ax.text(a + 0.08, y, step.label, ha="left", va="center", fontsize=8.5, color=DEADLINE_COLOUR,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "#fff5f5", "edgecolor": DEADLINE_COLOUR})
            continue
        ax.annotate("", xy=(b, y), xytext=(a, y),
                    arrowprops={"arrowstyle": "-|>", "color": colour, "linestyle": "--" if step.reply else "-",
                                "shrinkA": 2, "shrinkB": 2, "linewidth": 1.1})
        ax.text((a + b) / 2, y - 0.12, step.label, ha="center", va="bottom", fontsize=8.5, color=colour)
    fig.suptitle(f"{_title(data)} — requests and webhooks, in order (times in seconds since the first status)",
                 fontsize=9.5, x=0.02, ha="left", y=1 - 0.12 / height, va="top")
    return _png(fig)


def timeline_picture(data: TimelineData) -> Picture:
    """The timeline as a ``Picture`` (PNG + the timeline's one-line text)."""
    return Picture(timeline_png(data), timeline_text(data))


def sequence_picture(data: TimelineData) -> Picture:
    """The sequence diagram as a ``Picture`` (PNG + one line per step)."""
    return Picture(sequence_png(data), sequence_text(data))
