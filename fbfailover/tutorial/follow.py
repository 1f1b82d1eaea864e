"""Following what a send caused: every wait of the tutorial for its webhooks, in one place, each returning events.

A wait is a state of the received events, waited for with ``EventSource.wait_until`` (woken by each new event,
never polling): a dispatch has ended when its final report and the last status of every message it lists have
arrived; a Messages API v1 workflow when ``v1_outcome`` says so; a single message at its first result. What the
events mean is for the callers to show: ``exchange.Exchange`` as a table, ``failover_steps`` as panels, the
widgets as a progress bar and a timeline.

Every function takes ``accept``: which events count (``Event.verified``, say, for a step that must act only on
signed webhooks); events it refuses are neither waited for nor returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fbfailover.errors import WaitTimeout
from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import Event, v1_items, v1_outcome

if TYPE_CHECKING:
    from fbfailover.tutorial.session import Tutorial
    from fbfailover.webhooks.source import EventSource

__all__ = ["RESULTS", "dispatch_ended", "dispatch_events", "dispatch_timeout", "inbound_from", "message_events",
           "sent_events", "workflow_events"]

#: The statuses that are a message's result (the first of them ends ``message_events``).
RESULTS = ("delivered", "read", "rejected", "undeliverable", "failed")
Accept = Callable[[Event], bool]


def _all(_: Event) -> bool:
    return True


def dispatch_ended(dispatch_uuid: str, accept: Accept = _all) -> Callable[[list[Event]], list[Event] | None]:
    """A predicate for ``wait_until``: the dispatch's events once its final report and the statuses it lists
    have all arrived (they may arrive in either order), else None."""
    def ended(events: list[Event]) -> list[Event] | None:
        ours = [e for e in events if e.dispatch_uuid == dispatch_uuid and accept(e)]
        reports = [e for e in ours if e.kind == "final_report"]
        if not reports:
            return None
        seen = {(e.message_uuid, e.status) for e in events if e.kind == "status" and accept(e)}
        wanted = {(m.get("message_uuid"), m.get("status")) for m in shapes.report_messages(reports[-1].body)}
        if not wanted <= seen:
            return None
        uuids = {u for u, _ in wanted}
        return [e for e in events if accept(e) and (e.dispatch_uuid == dispatch_uuid or (
            e.kind == "status" and e.message_uuid in uuids))]
    return ended


def dispatch_timeout(tut: Tutorial, expiry_time: float) -> float:
    """Real seconds a dispatch with ``expiry_time`` simulated seconds of failover may take to end."""
    if not tut.offline or tut.sandbox is None:
        return expiry_time + 300
    scale = float(tut.sandbox.clock().get("time_scale", 1))  # type: ignore[union-attr]
    return expiry_time / max(scale, 1e-9) + 30


def dispatch_events(source: EventSource, dispatch_uuid: str, *, timeout: float, accept: Accept = _all,
                    tick: float | None = None, on_tick: Callable[[], None] | None = None) -> list[Event]:
    """Wait for a Dispatch workflow to end; return its webhooks (statuses and the final report), as arrived.

    Raises:
        WaitTimeout: when it did not end within ``timeout`` real seconds.
    """
    return source.wait_until(dispatch_ended(dispatch_uuid, accept), timeout,
                             wanted=f"the final report of dispatch {dispatch_uuid} and the statuses it lists",
                             tick=tick, on_tick=on_tick)


def _of_workflow(workflow_id: str, accept: Accept) -> Callable[[list[Event]], list[Event]]:
    return lambda events: [e for e in events if e.kind == "status" and e.workflow_id == workflow_id and accept(e)]


def workflow_events(source: EventSource, workflow_id: str, *, timeout: float, settle: float = 2.0,
                    accept: Accept = _all, tick: float | None = None,
                    on_tick: Callable[[], None] | None = None) -> list[Event]:
    """Wait for a Messages API v1 failover workflow to settle; return its status webhooks, as arrived.

    The outcome is decided on results alone (``v1_outcome``); once it is known, a ``submitted`` still missing for
    a message that has a result is waited for up to ``settle`` seconds, so that a late one is listed too.

    Raises:
        WaitTimeout: when the workflow has not settled within ``timeout`` real seconds.
    """
    ours = _of_workflow(workflow_id, accept)

    def settled(events: list[Event]) -> list[Event] | None:
        found = ours(events)
        return found if v1_outcome(found) is not None else None

    def submitted_for_each(events: list[Event]) -> list[Event] | None:
        found = ours(events)
        return found if all("submitted" in seen for seen in v1_items(found)[0].values()) else None

    source.wait_until(settled, timeout, wanted=f"the end of workflow {workflow_id}", tick=tick, on_tick=on_tick)
    try:
        return source.wait_until(submitted_for_each, settle)
    except WaitTimeout:  # only late: the outcome stands without them
        return ours(source.events())


def message_events(source: EventSource, message_uuid: str, *, timeout: float, accept: Accept = _all) -> list[Event]:
    """Wait for one message's first result (delivered, read or a failure); return its status webhooks.

    Raises:
        WaitTimeout: when no result arrived within ``timeout`` real seconds.
    """
    def result(events: list[Event]) -> list[Event] | None:
        found = [e for e in events if e.kind == "status" and e.message_uuid == message_uuid and accept(e)]
        return found if any(e.status in RESULTS for e in found) else None

    return source.wait_until(result, timeout, wanted=f"a result of message {message_uuid}")


def inbound_from(source: EventSource, sender_id: str, *, timeout: float, accept: Accept = _all) -> list[Event]:
    """The inbound messages from ``sender_id``, once at least one has arrived; empty when none did in time."""
    def theirs(events: list[Event]) -> list[Event]:
        return [e for e in events if e.kind == "inbound" and e.sender_id == sender_id and accept(e)]

    try:
        return source.wait_until(theirs, timeout, wanted=f"an inbound message from {sender_id}")
    except WaitTimeout:
        return []


def sent_events(source: EventSource, answer: Mapping[str, Any] | None, *, accept: Accept = _all) -> list[Event]:
    """The webhooks that have arrived so far for what a send answered (a dispatch, a v1 workflow or a message)."""
    answer = answer or {}
    if answer.get("dispatch_uuid"):
        return [e for e in source.events(dispatch_uuid=answer["dispatch_uuid"]) if accept(e)]
    if answer.get("workflow_id"):
        return _of_workflow(answer["workflow_id"], accept)(source.events())
    if answer.get("message_uuid"):
        return [e for e in source.events("status", message_uuid=answer["message_uuid"]) if accept(e)]
    return []
