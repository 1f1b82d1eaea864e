"""Step 01's second half: learn FB_SENDER_ID (your Page ID) and FB_RECIPIENT_ID (the user's PSID).

Both come from one inbound Messenger webhook: ``to`` is your Page, ``from`` the user (objects in v0.1, plain
strings in v1; ``shapes`` reads either). In the sandbox a simulated user writes at once. Live, a person has
to open Facebook and write to the Page, so the wait is minutes long (``LIVE_TIMEOUT``), reports the seconds
left through ``on_wait`` (the widget's countdown; in a notebook without one, a display that updates in place),
and stops early on ``cancel`` or on a kernel interrupt. The ids can also be typed by hand (``page_id`` and
``psid``), for a learner who already knows them.

The waiting is ``follow``'s (``inbound_message`` in the sandbox, ``first_inbound`` live): this module saves and
shows the webhook it returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fbfailover.errors import ConfigError, ValidationError, WaitTimeout
from fbfailover.tutorial import follow
from fbfailover.tutorial.display import Panel, json_block
from fbfailover.tutorial.session import Tutorial
from fbfailover.validation import id_problem

__all__ = [
    "LIVE_INSTRUCTIONS",
    "LIVE_TIMEOUT",
    "SANDBOX_TIMEOUT",
    "facebook_id_problem",
    "learn_facebook_ids",
    "save_facebook_ids",
    "user_writes",
]

SANDBOX_TIMEOUT = 10.0
"""Real seconds to wait for the simulated user's message (it is sent at once)."""

LIVE_TIMEOUT = 300.0
"""Real seconds to wait for a person to write to the Page from Facebook (five minutes)."""

LIVE_INSTRUCTIONS = ("Send any message to your Page from Facebook now (Messenger, logged in as a user who is "
                     "not the Page). Its webhook tells your Page ID and your PSID.")

DEFAULT_TEXT = "Hi! I'd like updates about my order."


def facebook_id_problem(value: Any) -> str | None:
    """Why ``value`` is not a Facebook Page ID or PSID (digits, 1 to 50 of them), or None.

    Args:
        value: the text typed.

    Returns:
        The problem, or None when the id is fine.
    """
    problem = id_problem(value)
    if problem is None and not (value.strip().isascii() and value.strip().isdigit()):
        problem = "must be digits only (Facebook Page IDs and PSIDs are numbers)"
    return problem


def save_facebook_ids(tut: Tutorial, page_id: str, psid: str) -> Panel:
    """Check and save ids typed by hand: ``page_id`` → FB_SENDER_ID, ``psid`` → FB_RECIPIENT_ID.

    Args:
        page_id: your Facebook Page ID.
        psid: the Page-scoped id of the user who writes to the Page.

    Returns:
        A panel naming what was saved.

    Raises:
        ValidationError: when an id is not digits (nothing is saved).
    """
    problems = {name: reason for name, value in (("page_id", page_id), ("psid", psid))
                if (reason := facebook_id_problem(value))}
    if problems:
        raise ValidationError([{"name": k, "reason": v} for k, v in problems.items()])
    page_id, psid = page_id.strip(), psid.strip()
    path = tut.save(FB_SENDER_ID=page_id, FB_RECIPIENT_ID=psid)
    return Panel("Facebook ids entered by hand", [
        ("the user's PSID → FB_RECIPIENT_ID", psid),
        ("your Page ID → FB_SENDER_ID", page_id),
        ("saved to", path.name),
    ], data={"fb_sender_id": page_id, "fb_recipient_id": psid})


def _stopped(why: str) -> Panel:
    return Panel(f"Stopped waiting ({why}): no ids saved", [
        "run the step again to wait once more, or type the ids:",
        "learn_facebook_ids(tut, page_id='…', psid='…')",
    ], data={"cancelled": True})


def learn_facebook_ids(tut: Tutorial, text: str = DEFAULT_TEXT, timeout: float | None = None, *,
                       page_id: str | None = None, psid: str | None = None,
                       cancel: threading.Event | None = None,
                       on_wait: Callable[[float], None] | None = None, tick: float = 1.0) -> Panel:
    """Have a user message your Facebook page and learn FB_SENDER_ID / FB_RECIPIENT_ID from the webhook.

    In the sandbox a simulated user writes to a simulated page at once. Live, you send the message yourself
    from Facebook: the step waits up to ``LIVE_TIMEOUT`` seconds, calling ``on_wait(seconds_left)`` about
    every ``tick`` seconds (without ``on_wait``, a notebook shows ``LIVE_INSTRUCTIONS`` and a countdown that
    updates in place). Setting ``cancel`` or interrupting the kernel stops the wait. With ``page_id`` and
    ``psid`` nothing is awaited: the typed ids are checked and saved. Both ids are saved to ``.env``.

    Args:
        text: what the sandbox's simulated user writes.
        timeout: real seconds to wait (default ``SANDBOX_TIMEOUT`` offline, ``LIVE_TIMEOUT`` live).
        page_id, psid: ids typed by hand, instead of waiting for a message.
        cancel: an event another thread (a Cancel button) sets to stop waiting.
        on_wait: called with the seconds left while waiting live.
        tick: real seconds between two ``on_wait`` calls.

    Returns:
        A panel with the ids (``data`` holds ``fb_sender_id`` and ``fb_recipient_id``), or, when the wait was
        cancelled or interrupted, a "Stopped waiting" panel whose ``data`` holds ``cancelled``.

    Raises:
        ValidationError: when typed ids are not digits.
        WaitTimeout: when no inbound Messenger message arrived in time.
    """
    if page_id is not None or psid is not None:
        return save_facebook_ids(tut, page_id or "", psid or "")
    receiver = tut.receiver if tut.receiver is not None else tut.start_receiver()
    since = receiver.last_seq
    if tut.offline:
        # a new simulated Page is not linked to any application: its messages go to the account's inbound URL
        uuid = tut.sandbox.inbound("messenger", text=text)["message_uuid"]
        event = follow.inbound_message(receiver, uuid, timeout=SANDBOX_TIMEOUT if timeout is None else timeout,
                                       accept=follow.verified)
    else:
        if not getattr(receiver, "signature_secret", None):  # only a signed webhook may name the ids to save
            raise ConfigError("learning the ids live takes a signed webhook: set VONAGE_SIGNATURE_SECRET (dashboard, "
                              "Settings) in .env, or type the ids: learn_facebook_ids(tut, page_id='…', psid='…')")
        wait = LIVE_TIMEOUT if timeout is None else timeout
        try:
            event = follow.first_inbound(receiver, "messenger", after=since, timeout=wait, accept=follow.verified,
                                         cancel=cancel, on_wait=on_wait or _notebook_countdown(), tick=tick)
        except KeyboardInterrupt:
            return _stopped("interrupted")
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc} — no Messenger message reached the receiver in {wait:g} s: is the Page "
                              "linked to the application, and FBFAILOVER_PUBLIC_URL a tunnel to the receiver? "
                              "You can also type the ids: learn_facebook_ids(tut, page_id='…', psid='…')",
                              wanted=exc.wanted, arrived=exc.arrived) from None
        if event is None:
            return _stopped("cancelled")
    return _found(tut, event)


def _notebook_countdown() -> Callable[[float], None]:
    """Show the instructions and a countdown that updates in place (in IPython), else do nothing."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with the notebook extras
        return lambda left: None
    if get_ipython() is None:
        return lambda left: None
    handle = display(Panel("Waiting for a message to your Page", [LIVE_INSTRUCTIONS]), display_id=True)

    def show(left: float) -> None:
        minutes, seconds = divmod(int(left), 60)
        handle.update(Panel("Waiting for a message to your Page", [
            LIVE_INSTRUCTIONS, ("time left", f"{minutes}:{seconds:02d} (interrupt the kernel to stop)")]))

    return show


def _found(tut: Tutorial, event: Any) -> Panel:
    """Save the ids an inbound webhook names and say where each came from."""
    page_id, psid = event.recipient_id, event.sender_id
    problems = [{"name": name, "reason": f"{reason} (the webhook's {name} was {str(value)[:40]!r})"}
                for name, value in (("page_id", page_id), ("psid", psid)) if (reason := facebook_id_problem(value))]
    if problems:  # checked before anything is saved: a webhook's fields are not trusted to be ids
        raise ValidationError(problems)
    page_id, psid = page_id.strip(), psid.strip()
    path = tut.save(FB_SENDER_ID=page_id, FB_RECIPIENT_ID=psid)
    # name the fields as this webhook version spells them: v0.1 {type, id} objects, v1 plain strings
    sender, recipient = ("from.id", "to.id") if event.version == "v0.1" else ("from", "to")
    return Panel("Inbound Messenger message received", [
        ("text", event.text),
        (f"{sender} — the user's PSID → FB_RECIPIENT_ID", psid),
        (f"{recipient} — your Page ID → FB_SENDER_ID", page_id),
        ("saved to", path.name),
    ], code=[("the webhook body", json_block(event.body))], data={"fb_sender_id": page_id,
                                                                  "fb_recipient_id": psid})


def _route(url: str | None) -> str:
    """``/webhooks/inbound-sms`` of a delivery URL (a mailbox's or a receiver's), or the URL as it is."""
    if not url:
        return "none set"
    path = urlsplit(url).path
    return path[path.index("/webhooks/"):] if "/webhooks/" in path else url


def user_writes(tut: Tutorial, text: str = "Hi, I am someone else", from_: str | None = None) -> Panel:
    """A Facebook user writes to your Page (sandbox): show the inbound message compactly, and where it went and why.

    The sandbox plays the user (a new one unless ``from_`` names a PSID). Without an application linked to the
    Page, which is the case in step 01, the message goes to the account-level **Inbound Message** URL, as in
    the original tutorial's dashboard step. The receiver's route for it is ``/webhooks/inbound-sms``, named after
    that dashboard field, which the SMS API introduced; it takes every channel's inbound messages. There is no
    application to pin the webhook format to v1 either, so it arrives in the Messages API's v0.1 shape.
    Step 02's application (format v1) then receives the Page's messages at its own Inbound URL.

    Args:
        tut: the session.
        text: what the user writes.
        from_: the user's PSID (default: a new user).

    Returns:
        A compact panel: the text, the user's PSID, your Page ID, where it was delivered and why, and whether it
        reached this notebook; ``data`` holds the sandbox's answer.
    """
    if not tut.offline:
        return Panel("Live mode: a real person writes to your Page", [LIVE_INSTRUCTIONS])
    s = tut.settings  # your Page, and the application linked to it once step 02 made one
    answer = tut.sandbox.inbound("messenger", from_=from_, to=s.fb_sender_id, text=text,
                                 application_id=s.application_id)
    psid, page = answer["from"]["id"], answer["to"]["id"]
    event = None
    if tut.receiver is not None:
        try:
            event = follow.inbound_message(tut.receiver, answer["message_uuid"], timeout=SANDBOX_TIMEOUT)
        except WaitTimeout:
            event = None
    linked = answer.get("application_id")
    where = (f"the application's Inbound URL ({_route(answer.get('delivered_to'))}), format "
             f"{answer.get('webhook_version')}" if linked else
             f"the account-level Inbound Message URL ({_route(answer.get('delivered_to'))}), format "
             f"{answer.get('webhook_version')}")
    why = ("your Page's messages go to the application linked to it" if linked else
           "no application is linked to your Page yet, so the account's Inbound Message URL gets it (the original "
           "tutorial's dashboard step; the route is named after that field, which takes SMS too). With no "
           "application to pin v1, the Messages API uses v0.1; step 02's application (v1) then gets your Page's "
           "messages at its own Inbound URL")
    v1 = answer.get("webhook_version") == "v1"  # v1 spells the ids as plain from / to strings
    lines: list[Any] = [("text", text), ("from" if v1 else "from.id", f"{psid} — their PSID"),
                        ("to" if v1 else "to.id", f"{page} — your Page ID"),
                        ("delivered to", where), ("why there", why),
                        ("arrived here", f"yes, as inbound event #{event.seq} (its JSON: EventFeed(receiver), JSON)"
                         if event is not None else "not seen: this notebook's receiver is not running"
                         if tut.receiver is None else "not yet: look at the feed")]
    return Panel("A user wrote to your Page", lines, data=answer)
