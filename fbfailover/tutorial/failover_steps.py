"""Steps 04 and 05 of the tutorial: send the failover, follow it, and the Messages API v1 twin."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fbfailover.channels import by_name
from fbfailover.errors import ValidationError
from fbfailover.payloads import DEFAULT_TEXT_MESSENGER, DEFAULT_TEXT_SMS, message_v1, tutorial_workflow
from fbfailover.tutorial import follow
from fbfailover.tutorial.display import Panel, json_block
from fbfailover.tutorial.twins import send_twins
from fbfailover.webhooks import shapes
from fbfailover.webhooks.events import STATUS_ORDER

if TYPE_CHECKING:
    from fbfailover.tutorial.session import Tutorial
    from fbfailover.webhooks.source import EventSource

__all__ = [
    "OUTCOMES",
    "V1_TEXT_MESSENGER",
    "apply_outcome",
    "compare_requests",
    "dispatch_panel",
    "follow_dispatch",
    "follow_v1",
    "send_failover",
    "send_v1_failover",
    "v1_panel",
]

DEFAULT_OUTCOME = "never read (the default)"
PROGRESS_EVERY = 0.1  # real seconds between progress reports while a follow waits (it is woken by events too)
# Messages API v1 has no read timer: it moves on to the SMS only when Messenger rejects the message.
V1_TEXT_MESSENGER = "Hello from fbfailover on Facebook Messenger. If Messenger cannot deliver it, an SMS follows."
DEFAULT_FROM, DEFAULT_TO = "447700900000", "447700900001"  # the tutorial's example numbers
# What the sandbox's simulated user and phone do; each entry: channel -> (outcome, after, error code).
OUTCOMES: dict[str, dict[str, tuple[str, float | None, int | None]]] = {
    DEFAULT_OUTCOME: {},
    "reads in time": {"messenger": ("read", 60, None)},
    "Messenger rejects": {"messenger": ("rejected", None, 1340)},
    "SMS undeliverable": {"sms": ("undeliverable", None, 1260)},
}


def apply_outcome(tut: Tutorial, outcome: str, *, fb_recipient_id: str, to_number: str) -> str:
    """Tell the sandbox how this recipient behaves for the next sends (sandbox only).

    Raises:
        ValidationError: for an unknown outcome, or any outcome but the default in live mode.
    """
    if outcome not in OUTCOMES:
        reason = f"unknown outcome {outcome!r}: must be one of: {', '.join(OUTCOMES)}"
        raise ValidationError([{"name": "outcome", "reason": reason}])
    if not tut.offline:
        if outcome != DEFAULT_OUTCOME:
            reason = "only the sandbox can simulate recipients; in live mode real people decide"
            raise ValidationError([{"name": "outcome", "reason": reason}])
        return outcome
    tut.sandbox.reset_recipients()
    for channel, (what, after, code) in OUTCOMES[outcome].items():
        table = by_name(channel)
        target = fb_recipient_id if table is not None and table.addresses_people_by_id else to_number
        tut.sandbox.set_recipient(channel, target, what, after=after, error_code=code)
    return outcome


def send_failover(tut: Tutorial, *, from_number: str, to_number: str, fb_sender_id: str, fb_recipient_id: str,
                  text_messenger: str, text_sms: str, expiry_time: int = 600,
                  condition_status: str = "read", before_send: Callable[[], Any] | None = None) -> Panel:
    """Validate and send the tutorial's Dispatch workflow; the panel holds the body, its twins and the id.

    Args:
        before_send: called once the body is valid, just before sending (e.g. to set the sandbox's recipient).

    Raises:
        ValidationError: before anything is sent, listing every problem of the form.
    """
    body = tutorial_workflow(from_number=from_number, to_number=to_number, fb_sender_id=fb_sender_id,
                             fb_recipient_id=fb_recipient_id, text_messenger=text_messenger, text_sms=text_sms,
                             expiry_time=expiry_time, condition_status=condition_status)
    request = tut.client.request_for("send_workflow", body)
    if before_send is not None:
        before_send()
    started = _now(tut)
    answer = tut.client.send_workflow(body)
    return Panel("Workflow accepted (202)", [("dispatch_uuid", answer["dispatch_uuid"])],
                 code=[("request body", json_block(body)), *send_twins(tut, request)], folded=True,
                 data={**answer, "body": body, "started": started, "expiry_time": expiry_time,
                       "condition_status": condition_status})


def _now(tut: Tutorial) -> float:
    """Simulated seconds on the sandbox's clock, or real seconds live."""
    if tut.offline:
        return float(tut.sandbox.clock()["now_unix"])
    return time.time()


def follow_dispatch(tut: Tutorial, sent: Panel, *, timeout: float | None = None,
                    on_progress: Callable[[float, float], None] | None = None) -> Panel:
    """Wait for the dispatch's final report (``follow.dispatch_events``) and show it, reporting progress in
    (simulated) seconds along the way.

    Args:
        sent: what ``send_failover`` returned.
        timeout: real seconds to wait; default: long enough for the expiry at the sandbox's speed.
        on_progress: called with (seconds since sending, expiry time) while waiting.
    """
    uuid, expiry = sent["dispatch_uuid"], float(sent["expiry_time"])
    on_tick = None
    if on_progress is not None:
        def on_tick() -> None:
            on_progress(min(_now(tut) - sent["started"], expiry), expiry)
    events = follow.dispatch_events(_source(tut), uuid, timeout=timeout or follow.dispatch_timeout(tut, expiry),
                                    tick=PROGRESS_EVERY, on_tick=on_tick)
    if on_progress is not None:
        on_progress(expiry, expiry)
    return dispatch_panel(events)


def dispatch_panel(events: list[Any]) -> Panel:
    """The final report of a dispatch's ``events``: each message's last status, and whether the SMS went."""
    report = [e for e in events if e.kind == "final_report"][-1]
    messages = shapes.report_messages(report.body)
    lines = [(f"message {i} ({m.get('channel')})", m.get("status")) for i, m in enumerate(messages, 1)]
    sms_sent = any(m.get("channel") == "sms" for m in messages)
    lines.append(("failed over to SMS", "yes" if sms_sent else "no"))
    return Panel(f"Final report: {report.body.get('status')}", lines, data={"report": report.body, "events": events})


def _source(tut: Tutorial) -> EventSource:
    if tut.receiver is None:
        raise ValueError("no receiver is running: tut.start_receiver() starts the one this session's webhooks reach")
    return tut.receiver


def compare_requests(tut: Tutorial, text_messenger: str = DEFAULT_TEXT_MESSENGER,
                     text_sms: str = DEFAULT_TEXT_SMS, text_messenger_v1: str = V1_TEXT_MESSENGER) -> Panel:
    """The same intent as a Dispatch workflow and as a Messages API v1 message with ``failover``.

    Each Messenger text says what its API does: Dispatch follows with the SMS when the message is not read in time,
    v1 only when Messenger cannot deliver it.
    """
    s = tut.settings.require("fb_sender_id", "fb_recipient_id")
    numbers = {"from_number": s.from_number or DEFAULT_FROM, "to_number": s.to_number or DEFAULT_TO}
    dispatch = tutorial_workflow(**numbers, fb_sender_id=s.fb_sender_id, fb_recipient_id=s.fb_recipient_id,
                                 text_messenger=text_messenger, text_sms=text_sms)
    sms = message_v1("sms", numbers["from_number"], numbers["to_number"], text_sms)
    v1 = message_v1("messenger", s.fb_sender_id, s.fb_recipient_id, text_messenger_v1, failover=[sms])
    return Panel("One intent, two APIs", [
        ("Dispatch", "POST /v0.1/dispatch — template + workflow items, each but the last with a failover condition"),
        ("Messages v1", "POST /v1/messages — the first message, with the next ones in its failover list"),
    ], code=[("Dispatch body", json_block(dispatch)), ("Messages API v1 body", json_block(v1))],
        data={"dispatch": dispatch, "v1": v1})


def send_v1_failover(tut: Tutorial, *, from_number: str, to_number: str, fb_sender_id: str,
                     fb_recipient_id: str, text_messenger: str, text_sms: str,
                     before_send: Callable[[], Any] | None = None) -> Panel:
    """Send the same intent through Messages API v1: a Messenger message with an SMS in its ``failover`` list.

    Raises:
        ValidationError: before anything is sent.
    """
    sms = message_v1("sms", from_number, to_number, text_sms)
    body = message_v1("messenger", fb_sender_id, fb_recipient_id, text_messenger, failover=[sms])
    request = tut.client.request_for("send_message_v1", body)
    if before_send is not None:
        before_send()
    answer = tut.client.send_message_v1(body)
    return Panel("Message accepted (202)", [("message_uuid", answer["message_uuid"]),
                                            ("workflow_id", answer.get("workflow_id"))],
                 code=[("request body", json_block(body)), *send_twins(tut, request)], folded=True,
                 data={**answer, "body": body})


def follow_v1(tut: Tutorial, sent: Panel, *, timeout: float = 20.0, settle: float = 2.0,
              on_progress: Callable[[float, float], None] | None = None) -> Panel:
    """Wait until the v1 workflow settles (``follow.workflow_events``: a message delivered, or the last one
    failed; no final report here) and show its statuses.

    Args:
        sent: what ``send_v1_failover`` returned (its ``workflow_id`` names the workflow).
        timeout: real seconds to wait for the outcome.
        settle: real seconds to wait, after the outcome, for late ``submitted`` statuses.
        on_progress: called with (the message being tried, the workflow's number of messages) while waiting, and
            with (total, total) once the workflow has settled.

    Returns:
        A panel with one line per status, in workflow order.

    Raises:
        WaitTimeout: when the workflow has not settled within ``timeout``.
    """
    source, workflow_id = _source(tut), sent["workflow_id"]
    body = (getattr(sent, "data", sent) or {}).get("body")
    total = float(1 + len(body.get("failover") or [])) if isinstance(body, dict) else 1.0
    on_tick = None
    if on_progress is not None:
        def on_tick() -> None:
            events = follow.sent_events(source, {"workflow_id": workflow_id})
            known = float(max([total, *(e.items_total or 0 for e in events)]))
            on_progress(float(max([1, *(e.item_number or 0 for e in events)])), known)
    events = follow.workflow_events(source, workflow_id, timeout=timeout, settle=settle, tick=PROGRESS_EVERY,
                                    on_tick=on_tick)
    if on_progress is not None:
        total = float(max([total, *(e.items_total or 0 for e in events)]))
        on_progress(total, total)
    return v1_panel(events)


def v1_panel(events: list[Any]) -> Panel:
    """The statuses of a v1 workflow's ``events``, in workflow order."""
    events = sorted(events, key=lambda e: (e.item_number or 0, STATUS_ORDER.get(e.status, 9)))
    lines = [(f"message {e.item_number} ({e.channel})", e.status) for e in events]
    return Panel("Messages API v1 statuses (there is no final report)", lines, data={"events": events})
