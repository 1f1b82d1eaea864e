"""The failover state machine of dispatches, workflows and v1 failovers.

A dispatch sends item 0; item i fails (rejected/undeliverable) -> item i+1 at once; ``condition_status`` not
reached within ``expiry_time`` -> item i+1; reached (``read`` also satisfies ``delivered``) -> completed. The
last item delivered -> completed; the last item failed -> error. Exactly one final report per dispatch.
A v1 failover workflow moves on only when a message is rejected (an undeliverable message ends it: Vonage's
failover guide names rejection as the only trigger), and has no final report.
Late statuses of earlier messages only produce their own webhooks.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from typing import TYPE_CHECKING, Any

from fbfailover.channels import FAILED, V1_FAILS_OVER_ON

from .bodies import anchor, final_report, shown
from .clock import TimerKind
from .documents import Dispatch, new_dispatch, new_message

if TYPE_CHECKING:
    from .activity import Activity
    from .catalog import Account, Accounts
    from .clock import Clock, Scheduler
    from .messages import Messages
    from .records import Records
    from .webhook_delivery import Webhooks

__all__ = ["Failover"]


class Failover:
    """Dispatches and v1 failover workflows over ``messages``: sends their items and decides what happens next."""

    def __init__(self, records: Records, accounts: Accounts, clock: Clock, scheduler: Scheduler, messages: Messages,
                 webhooks: Webhooks, activity: Activity | None = None):
        self.records = records
        self.activity = activity
        self.accounts = accounts
        self.clock = clock
        self.scheduler = scheduler
        self.messages = messages
        self.webhooks = webhooks

    def create_workflow(
        self,
        account: Account,
        application_id: str | None,
        auth: str,
        kind: str,
        items: list[dict],
        template: str = "failover",
    ) -> tuple[Dispatch, dict]:
        """Start a dispatch (``kind`` dispatch|workflow) or a v1 failover (``v1``); returns it, message 0."""
        at = self.clock.now()
        ident = _workflow_id() if kind == "v1" else str(uuid.uuid4())
        dispatch = new_dispatch(ident, account.id, application_id, auth, kind, items, at, offset=anchor(at),
                                created_real=shown(time.time(), {}), template=template)
        first = self._send_item(dispatch, 0, at)
        return dispatch, first

    def _send_item(self, dispatch: Dispatch, index: int, at: float) -> dict:
        item = dispatch["items"][index]
        dispatch["current"] = index
        part_of: dict[str, Any] = {"uuid": str(uuid.uuid4()), "dispatch_uuid": dispatch["uuid"], "item": index,
                                   "offset": dispatch.get("offset", 0.0)}
        if dispatch["kind"] == "v1":
            part_of["workflow"] = {"id": dispatch["uuid"], "item_number": index + 1,
                                   "items_total": len(dispatch["items"])}
            msg = new_message(dispatch["account_id"], dispatch["application_id"], dispatch["auth"], item, api="v1",
                              webhook_version=self.messages.webhook_version(item, dispatch["application_id"]),
                              **part_of)
        else:
            part_of["link"] = "dispatch" if dispatch["kind"] == "dispatch" else "workflow"
            msg = new_message(dispatch["account_id"], dispatch["application_id"], dispatch["auth"], item, api="v0.1",
                              **part_of)
        dispatch["messages"].append(msg["uuid"])
        _event(dispatch, at, "sent", item=index, message_uuid=msg["uuid"], channel=msg["channel"])
        failover = item.get("failover") if dispatch["kind"] != "v1" else None
        dispatch["expiry"] = None
        if failover:
            due = at + failover["expiry_time"]
            timer = self.scheduler.add(due, TimerKind.EXPIRY, dispatch["uuid"], {"item": index})
            dispatch["expiry"] = {
                "item": index,
                "deadline": shown(due, dispatch),
                "deadline_unix": due,
                "timer": timer,
                "condition_status": failover["condition_status"],
            }
            dispatch["events"][-1].update(expiry_deadline=shown(due, dispatch),
                                          condition_status=failover["condition_status"])
        self.records.put_dispatch(dispatch)
        return self.messages.submit(msg, at)

    def on_status(self, msg: dict, status: str, at: float) -> None:
        """A message stepped to ``status`` (``Messages.listen``): move its dispatch on, if it decides anything."""
        dispatch = self.records.dispatch(msg["dispatch_uuid"]) if msg.get("dispatch_uuid") else None
        if dispatch is None or dispatch["status"] != "in_progress" or msg.get("item") != dispatch["current"]:
            return  # a late status of an earlier message: its own webhook only
        index = dispatch["current"]
        last = index == len(dispatch["items"]) - 1
        if status in FAILED:
            moves_on = dispatch["kind"] != "v1" or status in V1_FAILS_OVER_ON
            _event(dispatch, at, status, item=index, message_uuid=msg["uuid"],
                   **({} if moves_on else {"note": "v1 fails over only when a message is rejected"}))
            if last or not moves_on:
                self._finish(dispatch, "error", at)
            else:
                self._cancel_expiry(dispatch)
                self._send_item(dispatch, index + 1, at)
            return
        if status not in ("delivered", "read"):
            return
        condition = "delivered"
        if dispatch["kind"] != "v1" and not last:
            condition = dispatch["items"][index]["failover"]["condition_status"]
        if status == "read" or condition == "delivered":
            _event(dispatch, at, f"condition {condition} reached", item=index, message_uuid=msg["uuid"])
            self._finish(dispatch, "completed", at)

    def on_expiry(self, dispatch_uuid: str, data: dict, at: float) -> None:
        """The ``EXPIRY`` timer of a dispatch item: its condition was not reached in time, send the next item."""
        dispatch = self.records.dispatch(dispatch_uuid)
        if dispatch is None or dispatch["status"] != "in_progress" or dispatch["current"] != data["item"]:
            return
        _event(dispatch, at, "expired", item=data["item"])
        self._send_item(dispatch, data["item"] + 1, at)

    def _cancel_expiry(self, dispatch: Dispatch) -> None:
        if dispatch.get("expiry"):
            self.scheduler.cancel(dispatch["expiry"]["timer"])
            dispatch["expiry"] = None

    def _finish(self, dispatch: Dispatch, status: str, at: float) -> None:
        self._cancel_expiry(dispatch)
        dispatch["status"] = status
        dispatch["finished"] = shown(at, dispatch)
        _event(dispatch, at, status)
        if dispatch["kind"] != "v1":
            messages = [m for m in map(self.records.message, dispatch["messages"]) if m is not None]
            report = final_report(dispatch, messages, at)
            dispatch["final_report"] = report
            if self.activity is not None:
                self.activity.step(dispatch["account_id"], "final_report", status)
            account = self.accounts.by_id(dispatch["account_id"])
            url = self.messages.status_url(account, dispatch["application_id"], dispatch["auth"])
            self.webhooks.send(
                account,
                url,
                report,
                kind="final_report",
                at=at,
                application_id=dispatch["application_id"],
                dispatch_uuid=dispatch["uuid"],
            )
        self.records.put_dispatch(dispatch)
        self.records.finished(dispatch["uuid"], dispatch["messages"])


def _workflow_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(26))


def _event(dispatch: Dispatch, at: float, event: str, **fields: Any) -> None:
    """One line of the dispatch's timeline; ``at``/``at_unix`` as its webhooks' timestamps show it."""
    dispatch["events"].append({"at": shown(at, dispatch), "at_unix": round(at + dispatch.get("offset", 0.0), 3),
                               "real_time": shown(time.time(), {}), "event": event, **fields})
