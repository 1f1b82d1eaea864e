"""Step the clock: a failover watched second by second, on a sandbox whose simulated time moves only when told.

``manual_clock(tut)`` starts a second embedded sandbox with ``clock="manual"`` (in memory, so the project's
sandbox and ``.env`` stay as they are), its own receiver, and an application on it that uses the learner's own
private key. ``clock.send(body)`` sends there without waiting for the outcome; ``clock.advance(599)`` then
``clock.advance(1)`` moves simulated time and shows what happened by then: nothing at 599 s, the SMS at 600 s.

In a shared workshop sandbox the clock is the room's (only the instructor may move it), and live there is no
clock to move: in the workshop the same calls wait until the sandbox reports that the time has passed
(``follow.clock_reaches``), and live they send nothing; both say so. On the manual clock nothing is waited for:
the sandbox fires the timers due by then and its receiver has stored their webhooks before ``advance`` answers.

Time only moves forward: ``clock.advance_to(599)`` after the clock passed 599 s moves nothing and says where the
clock stands. ``clock.restart()`` sends the same body again on the same clock, a fresh dispatch counted from +0 s.
Whatever moves the clock (a button, a cell) tells the listeners in ``clock.listeners``, so a stepper displayed
above the cell that moved it shows where the clock stands now.

Running ``manual_clock`` again replaces the kernel's manual sandbox: the previous clock is stopped and marked
``replaced``, and its calls (and the buttons of its stepper) say so instead of failing to reach it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from fbfailover.errors import SandboxError
from fbfailover.tutorial import follow
from fbfailover.tutorial.display import Panel
from fbfailover.tutorial.exchange import Exchange, follow_more, send_request
from fbfailover.tutorial.session import LIVE, SANDBOX, Tutorial, connect

__all__ = ["REPLACED", "SteppedClock", "manual_clock"]

_previous: Any = None  # the manual sandbox of this kernel, stopped when the cell runs again


REPLACED = ("this clock's sandbox was replaced when the cell that made it ran again: use the newest clock (and its "
            "stepper) below")
LIVE_NOTE = ("Live mode: Vonage's clock is the real one and cannot be stepped, so this part sends nothing (a real "
             "message costs money). Run the notebook against the offline sandbox to step the clock.")


class SteppedClock:
    """A session whose simulated time the learner moves, and the one request being watched on it.

    Args:
        tut: the session to send on (the manual-clock sandbox, or the shared/live session itself).
        manual: True when ``advance`` moves the sandbox's clock; False when it waits for time to pass.
    """

    def __init__(self, tut: Tutorial, *, manual: bool):
        self.tut = tut
        self.manual = manual
        self.run: Exchange | None = None
        self.start: float | None = None  # simulated epoch seconds when the request was sent
        self.deadline: int | None = None  # seconds after the request when the first message's condition expires
        self.replaced = False  # True once manual_clock() made a new one in its place (this one is stopped)
        self.body: Mapping[str, Any] | None = None  # the body sent last, for restart()
        self.path = "/v0.1/dispatch"
        #: Called with the new view whenever this clock moves or sends (a stepper's display follows them).
        self.listeners: list[Callable[[Panel], None]] = []

    def _changed(self, panel: Panel) -> Panel:
        for listener in list(self.listeners):
            listener(panel)
        return panel

    def _check(self) -> None:
        if self.replaced:
            raise SandboxError(REPLACED)

    def _source(self) -> Any:
        """Where this session's webhooks arrive (its receiver, started when there is none yet)."""
        return self.tut.receiver if self.tut.receiver is not None else self.tut.start_receiver()

    def now(self) -> float:
        """The simulated time (live: the wall clock), in epoch seconds.

        Raises:
            SandboxError: this clock was replaced by a newer one (``REPLACED``).
        """
        self._check()
        if self.tut.mode == LIVE:
            return time.time()
        return float(self.tut.sandbox.clock()["now_unix"])

    @property
    def elapsed(self) -> int:
        """Whole simulated seconds since the request was sent (0 before)."""
        return 0 if self.start is None else round(self.now() - self.start)

    def send(self, body: Mapping[str, Any], path: str = "/v0.1/dispatch") -> Panel:
        """Send ``body`` on this session without waiting; the clock then decides when things happen.

        Returns:
            The view at +0 s (what the request caused straight away); in live mode a note instead: nothing is sent
            there (a real message costs money, and a real clock cannot be stepped).
        """
        if self.tut.mode == LIVE:
            return Panel(LIVE_NOTE, [])
        self._check()
        self.body, self.path = body, path
        self.start = self.now()
        self.run = send_request(self.tut, "POST", path, body, follow=False)
        items = body.get("workflow") if isinstance(body, Mapping) else None
        first = (items[0].get("failover") or {}) if items else {}
        self.deadline = first.get("expiry_time")
        if self.run.dispatch_uuid:  # the first status is posted by the sandbox's thread: let it land
            follow.dispatch_begun(self._source(), self.run.dispatch_uuid, timeout=5)
        return self._changed(self.view())

    def restart(self) -> Panel:
        """Send the last body again on this clock: a fresh dispatch, watched from +0 s.

        Returns:
            The new dispatch's view at +0 s, or a sentence saying that nothing was sent yet.
        """
        if self.body is None:
            return Panel("Nothing to start again: clock.send(body) first", [])
        return self.send(self.body, self.path)

    def advance(self, seconds: float) -> Panel:
        """Move simulated time on by ``seconds`` (or, on a clock that is not ours, wait for it) and show the view.

        Raises:
            ValueError: for a negative step.
        """
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._check()
        if self.tut.mode == LIVE:
            return Panel(LIVE_NOTE, [])
        if self.manual:  # the sandbox fires the timers due by then and delivers their webhooks before it answers
            self.tut.sandbox.advance(seconds)
        else:  # the room's clock: wait for the sandbox to report that much simulated time has passed
            follow.clock_reaches(self._source(), self.tut.sandbox.clock, self.now() + seconds,
                                 timeout=follow.dispatch_timeout(self.tut, seconds))
        return self._changed(self.view())

    def advance_to(self, seconds: float) -> Panel:
        """Move on until ``seconds`` after the request.

        Returns:
            The view then; when the clock is already past ``seconds``, nothing moves and the view's first line
            says where the clock stands and that it cannot go back (``restart()`` starts the dispatch again).
        """
        self._check()
        if self.run is not None and self.start is not None and self.tut.mode != LIVE and seconds < self.elapsed:
            view = self.view()
            return Panel(self.refusal(seconds), [view.title, *view.lines], data=view.data)
        return self.advance(max(0.0, seconds - self.elapsed))

    def refusal(self, seconds: float) -> str:
        """The sentence for a step back to ``seconds``: where the clock stands, and what to do instead."""
        return (f"The clock already stands at +{self.elapsed} s since the request, past +{seconds:g} s, and time "
                f"only moves forward: nothing moved. Start this dispatch again (clock.restart()) to watch it from "
                f"+0 s.")

    def rows(self) -> list[tuple[int, str]]:
        """``(seconds after the request, what happened)`` for every webhook of the request so far."""
        if self.run is None or self.start is None:
            return []
        follow_more(self.tut, self.run)
        rows = []
        for event in self.run.events:  # times from the request's first webhook, the moment it was sent
            what = (f"final report: {event.status}" if event.kind == "final_report"
                    else f"{event.channel} {event.status}")
            rows.append((self.run.offset(event), what))
        return rows

    def view(self) -> Panel:
        """Simulated time since the request, the deadline, and what has happened so far."""
        if self.replaced:
            return Panel(f"Stopped: {REPLACED}", [])
        if self.run is None:
            return Panel("Nothing sent yet: clock.send(body) first", [])
        if not self.run.accepted:
            return Panel(self.run.text().splitlines()[0], [])
        deadline = f" (the deadline is at +{self.deadline} s)" if self.deadline else ""
        lines: list[Any] = [(f"+{seconds} s", what) for seconds, what in self.rows()]
        sms_sent = any("sms submitted" in str(line[1]) for line in lines)
        if self.deadline and not sms_sent and self.elapsed < self.deadline:
            lines.append(f"… nothing more until +{self.deadline} s, unless the message is read")
        return Panel(f"Simulated time: +{self.elapsed} s since the request{deadline}", lines,
                     data={"elapsed": self.elapsed, "rows": self.rows()})

    def explain(self) -> str:
        """One paragraph: whose clock this is and what ``advance`` does with it."""
        if self.manual:
            return ("A second sandbox, in this kernel only, with a manual clock: simulated time stands still until "
                    "you call clock.advance(seconds) (or press a button). Your application and private key "
                    "work there too; the project's sandbox and .env are not touched.")
        if self.tut.mode == LIVE:
            return LIVE_NOTE
        return ("A shared workshop sandbox: the clock is the room's and only the instructor may move it. "
                "clock.advance(seconds) waits until that much simulated time has passed at the room's speed.")

    def __repr__(self) -> str:
        return self.explain()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.explain(), "text/html": f"<p class='fbfailover-clock'>{self.explain()}</p>"}

    def stop(self) -> None:
        """Stop the manual sandbox and its receiver (nothing to stop otherwise)."""
        if self.manual:
            self.tut.receiver.stop()
            self.tut.sandbox.stop()


def _application_on(session: Tutorial, learner: Tutorial) -> str:
    """Create, on ``session``'s sandbox, an application with the learner's public key; return its id."""
    from fbfailover.keys import load_private_key, public_pem
    from fbfailover.payloads import application_body
    from fbfailover.tutorial.setup_steps import DEFAULT_APP_NAME, _keyfile

    public = public_pem(load_private_key(_keyfile(learner)))
    receiver = session.receiver
    body = application_body(f"{DEFAULT_APP_NAME} (manual clock)", receiver.inbound_url, receiver.status_url,
                            public_key=public)
    return session.client.create_application(body)["id"]


def manual_clock(tut: Tutorial) -> SteppedClock:
    """A clock the learner steps: a second, manual-clock sandbox in this kernel (or, elsewhere, a waiting one).

    Args:
        tut: the tutorial session (its application's private key and Facebook ids are reused).

    Returns:
        A ``SteppedClock``; ``clock.tut`` is the session to send on.
    """
    global _previous
    if tut.mode != SANDBOX:
        return SteppedClock(tut, manual=False)
    from fbfailover import sandbox, webhooks

    if _previous is not None:
        _previous.stop()
        _previous.replaced = True
        _previous = None
    box = sandbox.start(clock="manual", db=":memory:")
    session = connect(tut.environ, sandbox=box)
    # replace=False: the tutorial's own receiver keeps running next to this one
    session.receiver = webhooks.start(0, signature_secret=box.signature_secret, api_key=box.api_key, replace=False)
    session.settings = session.settings.replace(application_id=_application_on(session, tut),
                                                private_key_path=tut.settings.private_key_path,
                                                fb_sender_id=tut.settings.fb_sender_id,
                                                fb_recipient_id=tut.settings.fb_recipient_id)
    _previous = SteppedClock(session, manual=True)
    return _previous
