"""The forms of steps 04 and 05: send the Messenger → SMS failover and watch it happen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from fbfailover.errors import ValidationError
from fbfailover.payloads import DEFAULT_TEXT_MESSENGER, DEFAULT_TEXT_SMS
from fbfailover.tutorial import (
    OUTCOMES,
    Panel,
    Tutorial,
    apply_outcome,
    follow_dispatch,
    follow_v1,
    send_failover,
    send_v1_failover,
)
from fbfailover.tutorial.exchange import followed
from fbfailover.tutorial.failover_steps import DEFAULT_FROM, DEFAULT_OUTCOME, DEFAULT_TO, V1_TEXT_MESSENGER
from fbfailover.validation import EXPIRY_RANGE, id_problem, phone_number_problem, sender_problem, text_problem
from fbfailover.widgets.feed import EventFeed
from fbfailover.widgets.forms import Form, _text
from fbfailover.widgets.timeline import FailoverTimeline
from fbfailover.widgets.twins import TwinTabs

__all__ = ["FailoverForm", "MessagesV1Form"]

# API field paths of the tutorial workflow -> the form field that holds the value
_ANSWER = ("dispatch_uuid", "message_uuid", "workflow_id")  # what the API answered, among a sent panel's data
_PATHS = {
    "workflow[0].from.id": "fb_sender_id", "workflow[0].to.id": "fb_recipient_id",
    "workflow[1].from.number": "from_number", "workflow[1].to.number": "to_number",
    "workflow[0].message.content.text": "text_messenger", "workflow[1].message.content.text": "text_sms",
    "workflow[0].failover.expiry_time": "expiry_time", "workflow[0].failover.condition_status": "condition_status",
    "from": "fb_sender_id", "to": "fb_recipient_id", "text": "text_messenger",
    "failover[0].from": "from_number", "failover[0].to": "to_number", "failover[0].text": "text_sms",
}


class _SendForm(Form):
    """Shared fields of both sends: numbers, Facebook ids, texts and (sandbox only) the recipient outcome."""

    path: str  # the endpoint the form sends to

    def __init__(self, tut: Tutorial, extra: dict[str, widgets.Widget], extra_checks: dict, outcome: str,
                 text_messenger: str = DEFAULT_TEXT_MESSENGER):
        self.tut = tut
        s = tut.settings
        fields: dict[str, widgets.Widget] = {
            "from_number": _text("FROM_NUMBER", s.from_number or DEFAULT_FROM, "360px"),
            "to_number": _text("TO_NUMBER", s.to_number or DEFAULT_TO, "360px"),
            "fb_sender_id": _text("FB_SENDER_ID", s.fb_sender_id, "360px"),
            "fb_recipient_id": _text("FB_RECIPIENT_ID", s.fb_recipient_id, "360px"),
            "text_messenger": _text("Messenger text", text_messenger),
            "text_sms": _text("SMS text", DEFAULT_TEXT_SMS),
            **extra,
        }
        # Only the sandbox can decide how the recipient behaves; live, real people do and the field is locked.
        fields["outcome"] = widgets.Dropdown(options=list(OUTCOMES), value=outcome if tut.offline else DEFAULT_OUTCOME,
                                             description="Recipient (sandbox)", disabled=not tut.offline,
                                             layout=widgets.Layout(width="360px"))  # as wide as the fields above
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=1.0, description="waiting")
        super().__init__(fields, checks={
            # The SMS sender may be an alphanumeric id (as the channel table allows); the recipient is a number.
            "from_number": sender_problem, "to_number": phone_number_problem,
            "fb_sender_id": id_problem, "fb_recipient_id": id_problem,
            "text_messenger": lambda v: text_problem(v, "messenger"),
            "text_sms": lambda v: text_problem(v, "sms"), **extra_checks})
        self.progress.add_class(f"fbf-{self.prefix}-progress")
        self.children = (*self.children[:-1], self.progress, self.output)

    def sandbox_only(self, values: dict[str, Any]) -> Panel | None:
        """In live mode, a simulated outcome cannot be had: say so and send nothing."""
        if self.tut.offline or values["outcome"] == DEFAULT_OUTCOME:
            return None
        self.result = Panel(f"Sandbox only: '{values['outcome']}' is simulated by the sandbox. In live mode the "
                            "real recipient decides, so nothing was sent.", [])
        self.show(self.result)
        return self.result

    def submit(self) -> Panel:
        """Validate, send, show the live views and follow the workflow to its end, then the whole exchange and the
        twins of the request sent (curl, Node, Python); returns the last panel.

        Raises:
            ValidationError: a field is invalid — shown inline, nothing is sent.
        """
        values = self.checked_values()
        if (refused := self.sandbox_only(values)) is not None:
            return refused
        try:
            self.sent = self._step_send(values, before_send=lambda: self._apply_outcome(values))
        except ValidationError as exc:
            raise self._mapped(exc) from exc
        self.timeline, *others = self._step_views(values)
        self.timeline.add_class(f"fbf-{self.prefix}-timeline")
        self.show(self.sent, self.timeline, *others)
        self.result = self._step_follow()
        self.output.append_display_data(self.result)
        # the whole exchange as one compact table, each JSON behind a disclosure (as tut.send shows it)
        self.exchange = followed(self.tut, self.path, self.sent["body"],
                                 {k: v for k, v in self.sent.data.items() if k in _ANSWER}, self.result["events"])
        self.output.append_display_data(self.exchange)
        # the very request sent, as curl, Node and Python against Vonage (as run.twins() shows a tut.send)
        self.twins = TwinTabs(self.exchange.twins())
        self.output.append_display_data(self.twins)
        return self.result

    def _step_send(self, values: dict[str, Any], before_send: Callable[[], Any]) -> Panel:  # pragma: no cover
        raise NotImplementedError

    def _step_views(self, values: dict[str, Any]) -> list[widgets.Widget]:  # pragma: no cover
        raise NotImplementedError

    def _step_follow(self) -> Panel:  # pragma: no cover
        raise NotImplementedError

    def _mapped(self, exc: ValidationError) -> ValidationError:
        """Show a builder's ValidationError inline, on the fields its API paths name."""
        problems: dict[str, str] = {}
        for p in exc.invalid_parameters:
            problems.setdefault(_PATHS.get(p["name"], p["name"]), p["reason"])
        return self.refuse(problems)

    def _send_kwargs(self, values: dict[str, Any]) -> dict[str, Any]:
        names = ("from_number", "to_number", "fb_sender_id", "fb_recipient_id", "text_messenger", "text_sms")
        return {k: values[k] for k in names}

    def _apply_outcome(self, values: dict[str, Any]) -> None:
        apply_outcome(self.tut, values["outcome"],
                      fb_recipient_id=values["fb_recipient_id"], to_number=values["to_number"])

    def _on_progress(self, done: float, total: float) -> None:
        self.progress.max = total
        self.progress.value = done
        self.progress.description = f"{int(done)} / {int(total)} s"


def _expiry_problem(seconds: int) -> str | None:
    low, high = EXPIRY_RANGE
    return None if low <= seconds <= high else f"must be between {low} and {high} seconds"


class FailoverForm(_SendForm):
    """Step 04: the Dispatch failover workflow — Messenger first, SMS if it is not read in time."""

    prefix = "failover"
    path = "/v0.1/dispatch"
    button_text = "Send"

    def __init__(self, tut: Tutorial, *, expiry_time: int = 600, condition_status: str = "read",
                 outcome: str = DEFAULT_OUTCOME):
        super().__init__(tut, {
            "expiry_time": widgets.IntText(value=expiry_time, description="expiry_time (s)"),
            "condition_status": widgets.Dropdown(options=["read", "delivered"], value=condition_status,
                                                 description="condition_status"),
        }, {"expiry_time": _expiry_problem},
            outcome)

    def _step_send(self, values: dict[str, Any], before_send: Callable[[], Any]) -> Panel:
        return send_failover(self.tut, **self._send_kwargs(values), expiry_time=values["expiry_time"],
                             condition_status=values["condition_status"], before_send=before_send)

    def _step_views(self, values: dict[str, Any]) -> list[widgets.Widget]:
        timeline = FailoverTimeline(self.tut.receiver, self.sent["dispatch_uuid"],
                                    expiry_time=values["expiry_time"], condition_status=values["condition_status"])
        feed = EventFeed(self.tut.receiver, limit=12, session=self.tut)
        feed.add_class("fbf-failover-feed")
        return [timeline, feed]

    def _step_follow(self) -> Panel:
        return follow_dispatch(self.tut, self.sent, on_progress=self._on_progress)


class MessagesV1Form(_SendForm):
    """Step 05: the same intent with Messages API v1 — a Messenger message with an SMS in ``failover``."""

    prefix = "v1"
    path = "/v1/messages"
    button_text = "Send with Messages API v1"

    def __init__(self, tut: Tutorial, *, outcome: str = DEFAULT_OUTCOME):
        super().__init__(tut, {}, {}, outcome, text_messenger=V1_TEXT_MESSENGER)

    def _step_send(self, values: dict[str, Any], before_send: Callable[[], Any]) -> Panel:
        return send_v1_failover(self.tut, **self._send_kwargs(values), before_send=before_send)

    def _step_views(self, values: dict[str, Any]) -> list[widgets.Widget]:
        return [FailoverTimeline(self.tut.receiver, self.sent["workflow_id"])]

    def _step_follow(self) -> Panel:
        return follow_v1(self.tut, self.sent, on_progress=self._on_messages)

    def _on_messages(self, done: float, total: float) -> None:
        self.progress.max = total
        self.progress.value = done
        self.progress.description = "settled" if done >= total else f"message {int(done)} of {int(total)}"
