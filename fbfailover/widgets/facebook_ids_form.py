"""Step 01's Facebook ids form: wait for a message to your Page with a live countdown, or type the ids.

The waiting runs on a thread of its own, so the kernel stays free to render the countdown and to hear the
Cancel button; the logic is ``fbfailover.tutorial.learn_facebook_ids`` and ``save_facebook_ids``.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as widgets

from fbfailover.tutorial import Panel, Tutorial, facebook_id_problem, learn_facebook_ids, save_facebook_ids
from fbfailover.tutorial.facebook_ids import LIVE_INSTRUCTIONS
from fbfailover.widgets.forms import Form, _text

__all__ = ["FacebookIdsForm", "countdown_text"]


def countdown_text(left: float) -> str:
    """``"4:59 left"`` for the countdown label."""
    minutes, seconds = divmod(max(int(left), 0), 60)
    return f"{minutes}:{seconds:02d} left"


class FacebookIdsForm(Form):
    """Wait for an inbound Messenger message (``listen()``, Cancel) or save the two ids typed by hand.

    Args:
        tut: the tutorial session.
        timeout: real seconds ``listen()`` waits (default: the step's own, five minutes live).
    """

    prefix = "fbids"
    button_text = "Save these ids"

    def __init__(self, tut: Tutorial, *, timeout: float | None = None):
        self.tut = tut
        self.timeout = timeout
        s = tut.settings
        super().__init__({
            "page_id": _text("Page ID (FB_SENDER_ID)", s.fb_sender_id, "420px"),
            "psid": _text("PSID (FB_RECIPIENT_ID)", s.fb_recipient_id, "420px"),
        }, checks={"page_id": facebook_id_problem, "psid": facebook_id_problem})
        self.instructions = widgets.HTML(f"<p>{LIVE_INSTRUCTIONS}</p>" if not tut.offline else
                                         "<p>The sandbox's simulated user writes to its Page at once.</p>")
        self.countdown = widgets.Label("")
        self.listen_button = widgets.Button(description="Wait for a message")
        self.cancel_button = widgets.Button(description="Cancel", disabled=True)
        for name, w in (("instructions", self.instructions), ("countdown", self.countdown),
                        ("listen", self.listen_button), ("cancel", self.cancel_button)):
            w.add_class(f"fbf-{self.prefix}-{name}")
        self.listen_button.on_click(lambda _b: self.listen())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self._cancel = threading.Event()
        self._typed = False
        self._thread: threading.Thread | None = None
        self.children = (self.instructions, widgets.HBox([self.listen_button, self.cancel_button, self.countdown]),
                         *self.children)

    # -- waiting (a thread of its own) ------------------------------------------------------------
    def listen(self) -> None:
        """Start waiting for a message to the Page (does nothing while already waiting)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._cancel = threading.Event()
        self._typed = False
        self.listen_button.disabled, self.cancel_button.disabled = True, False
        self.countdown.value = "waiting…"
        self._thread = threading.Thread(target=self._wait, name="fbfailover-facebook-ids", daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        try:
            panel = learn_facebook_ids(self.tut, timeout=self.timeout, cancel=self._cancel, on_wait=self._tick)
        except Exception as exc:  # shown in the output: a thread's exception would be lost
            panel = Panel(f"Error: {exc}", [])
        self._finish(panel)

    def _tick(self, left: float) -> None:
        self.countdown.value = countdown_text(left)

    def _finish(self, panel: Panel) -> None:
        self.listen_button.disabled, self.cancel_button.disabled = False, True
        if panel.data.get("cancelled") and self._typed:  # the ids typed by hand stay the result
            self.countdown.value = ""
            return
        self.result = panel
        if "fb_sender_id" in panel.data:
            self.fields["page_id"].value = panel["fb_sender_id"]
            self.fields["psid"].value = panel["fb_recipient_id"]
        self.countdown.value = "stopped" if panel.data.get("cancelled") else ""
        self.show(panel)

    def cancel(self) -> None:
        """Stop waiting (the thread notices within a second)."""
        self._cancel.set()

    def join(self, timeout: float | None = None) -> Any:
        """Wait for the waiting thread to end; returns the result panel (for a notebook cell or a test)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    # -- typed by hand ----------------------------------------------------------------------------
    def submit(self) -> Panel:
        """Check and save the ids typed in the two fields (stops any wait); returns the panel.

        Raises:
            ValidationError: when an id is not digits (shown inline; nothing is saved).
        """
        values = self.checked_values()
        self._typed = True
        self.cancel()
        self.result = save_facebook_ids(self.tut, values["page_id"], values["psid"])
        self.show(self.result)
        return self.result
