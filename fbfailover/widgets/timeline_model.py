"""The failover timeline's model: one row per message, its statuses in seconds since the first, the deadline.

Pure: computed from events, no widgets and no drawing. ``timeline.py`` (the live widget) and ``pictures.py``
(the PNGs) both draw it, with the one palette here. Times are the webhooks' own ``timestamp`` fields, in seconds
since the dispatch's first status (with the sandbox these are *simulated* seconds, so a 600 s expiry shows as
600 s however fast it ran).
"""

from __future__ import annotations

from dataclasses import dataclass

from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import FAILED, STATUS_ORDER, Event, v1_outcome

__all__ = ["COLOURS", "DEADLINE_COLOUR", "MessageRow", "TimelineData", "belongs", "build_timeline", "timeline_text"]

#: The one palette of statuses, for the live timeline and the pictures alike (matplotlib's tab10 colours).
COLOURS = {"submitted": "#7f7f7f", "delivered": "#1f77b4", "read": "#2ca02c", "rejected": "#d62728",
           "undeliverable": "#d62728", "failed": "#d62728"}
#: The deadline's colour (a failure's).
DEADLINE_COLOUR = COLOURS["failed"]


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


def belongs(event: Event, dispatch_uuid: str, listed: frozenset[str] = frozenset()) -> bool:
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
    mine = [e for e in events if belongs(e, dispatch_uuid, listed) and e.time is not None]
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


