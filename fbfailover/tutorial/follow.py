"""Following what a send caused: every wait of the tutorial, in one place, each returning what it waited for.

A wait is a state of the received events, waited for with ``EventSource.wait_until`` (woken by each new event,
never polling): a dispatch has ended when its final report and the last status of every message it lists have
arrived (``dispatch_events``); it has begun at its first status (``dispatch_begun``); a Messages API v1 workflow
has settled when ``v1_outcome`` says so (``workflow_events``); a single message at its first result
(``message_events``); an inbound message once it is stored (``inbound_message``, ``inbound_from``, and, at a
person's pace with a countdown and a Cancel, ``first_inbound``). The one wait that is not on events is on the
sandbox's clock (``clock_reaches``): its reading is state the sandbox reports, read again whenever a webhook
arrives and at least every ``CLOCK_RECHECK`` seconds (sooner when the time left passes sooner at its scale).

What the results mean is for the callers to show: ``exchange.Exchange`` as a table, ``failover_steps`` as panels,
``facebook_ids`` as the ids it saves, ``stepped_clock`` as the view at a moment, the widgets as a progress bar,
a countdown and a timeline. No other module of the tutorial or the widgets sleeps or polls
(``tests/test_follow.py`` checks).

Every wait on events takes ``accept``: which events count (``verified``, say, for a step that must act only on
signed webhooks); events it refuses are neither waited for nor returned.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from fbfailover.errors import WaitTimeout
from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import Event, v1_items, v1_outcome
from fbfailover.webhooks.store import timeout_error

if TYPE_CHECKING:
    from fbfailover.tutorial.session import Tutorial
    from fbfailover.webhooks.source import EventSource

__all__ = ["CLOCK_RECHECK", "RESULTS", "clock_reaches", "dispatch_begun", "dispatch_ended", "dispatch_events",
           "dispatch_timeout", "first_inbound", "inbound_from", "inbound_message", "message_events", "sent_events",
           "verified", "workflow_events"]

#: The statuses that are a message's result (the first of them ends ``message_events``).
RESULTS = ("delivered", "read", "rejected", "undeliverable", "failed")
Accept = Callable[[Event], bool]


#: Real seconds between two readings of a clock that webhooks do not wake (so that a clock someone else moved is
#: seen soon); shorter when the simulated time left should pass sooner at the clock's scale.
CLOCK_RECHECK = 0.25


def _all(_: Event) -> bool:
    return True


def verified(event: Event) -> bool:
    """An ``accept`` for the events whose signature was checked (what may drive a step)."""
    return event.verified


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


def dispatch_begun(source: EventSource, dispatch_uuid: str, *, timeout: float,
                   accept: Accept = _all) -> list[Event]:
    """Wait for a Dispatch workflow's first status webhook; return the dispatch's webhooks so far, as arrived.

    Raises:
        WaitTimeout: when no status of the dispatch arrived within ``timeout`` real seconds.
    """
    def begun(events: list[Event]) -> list[Event] | None:
        ours = [e for e in events if e.dispatch_uuid == dispatch_uuid and accept(e)]
        return ours if any(e.kind == "status" for e in ours) else None

    return source.wait_until(begun, timeout, wanted=f"a status of dispatch {dispatch_uuid}")


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


def inbound_message(source: EventSource, message_uuid: str, *, timeout: float, accept: Accept = _all) -> Event:
    """Wait for the inbound message ``message_uuid`` (one the sandbox was asked to send); return its webhook.

    Raises:
        WaitTimeout: when it did not arrive within ``timeout`` real seconds.
    """
    def arrived(events: list[Event]) -> Event | None:
        return next((e for e in events if e.kind == "inbound" and e.message_uuid == message_uuid and accept(e)),
                    None)

    return source.wait_until(arrived, timeout, wanted=f"inbound message {message_uuid}")


class _Cancelled:
    """What ``first_inbound``'s predicate returns once ``cancel`` is set (true, so that the wait ends)."""


def first_inbound(source: EventSource, channel: str, *, after: int, timeout: float, accept: Accept = _all,
                  cancel: threading.Event | None = None, on_wait: Callable[[float], None] | None = None,
                  tick: float = 1.0) -> Event | None:
    """Wait, at a person's pace, for the first inbound ``channel`` message stored after ``seq`` ``after``.

    ``on_wait(seconds_left)`` is called as the wait begins and then at least every ``tick`` seconds (a countdown);
    an exception it raises (a kernel interrupt) ends the wait and goes to the caller. Setting ``cancel`` ends the
    wait within ``tick`` seconds.

    Returns:
        The message's webhook, or None when ``cancel`` was set first.

    Raises:
        WaitTimeout: when none arrived within ``timeout`` real seconds; it lists only what arrived after ``after``.
    """
    cancelled = _Cancelled()

    def found(events: list[Event]) -> Event | _Cancelled | None:
        if cancel is not None and cancel.is_set():
            return cancelled
        return next((e for e in events if e.seq > after and e.kind == "inbound" and e.channel == channel
                     and accept(e)), None)

    if cancel is not None and cancel.is_set():
        return None
    deadline = time.monotonic() + timeout
    count_down = (lambda: on_wait(max(0.0, deadline - time.monotonic()))) if on_wait is not None else None
    if on_wait is not None:
        on_wait(timeout)
    wanted = f"an inbound {channel} message"
    try:
        result = source.wait_until(found, timeout, wanted=wanted, tick=tick, on_tick=count_down)
    except WaitTimeout as exc:
        raise timeout_error(wanted, timeout, exc.arrived, after) from None
    return None if result is cancelled else result  # type: ignore[return-value]


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


def clock_reaches(source: EventSource, read_clock: Callable[[], Mapping[str, Any]], target: float, *,
                  timeout: float) -> Mapping[str, Any]:
    """Wait until the sandbox's clock reads ``target`` (Unix seconds) or later; return that reading.

    The clock is state the sandbox reports (``read_clock()``: ``GET /_sandbox/clock``, with ``now_unix`` and
    ``time_scale``), not an event: ``source.wait_until`` waits on the latest reading, which is taken again whenever
    a webhook arrives (a timer fired on that clock) and, between webhooks, once the simulated time left should
    have passed at the clock's scale (at most ``CLOCK_RECHECK`` real seconds, so that a clock moved on by someone
    else is seen soon).

    Raises:
        WaitTimeout: when the clock had not reached ``target`` within ``timeout`` real seconds.
    """
    reading = dict(read_clock())

    def reread() -> None:
        reading.update(read_clock())

    def reached(_: list[Event]) -> bool:
        return float(reading["now_unix"]) >= target

    left = (target - float(reading["now_unix"])) / max(float(reading.get("time_scale") or 1), 1e-9)
    try:
        source.wait_until(reached, timeout, tick=min(CLOCK_RECHECK, max(left, 0.001)), on_tick=reread)
    except WaitTimeout:
        raise WaitTimeout(f"the sandbox's clock did not reach {target:.3f} within {timeout:g} s (it reads "
                          f"{float(reading['now_unix']):.3f}, at {reading.get('time_scale')} times real time)",
                          wanted=f"the clock at {target:.3f}") from None
    return reading
