"""The simulated world: how channels and recipients behave, and the failover state machine.

A message is ``submitted`` at once, then moves to ``delivered`` (and ``read`` on chat channels) or to
``rejected`` / ``undeliverable`` after the delays of its recipient's rule. Each step is a persisted timer.

A dispatch sends item 0; item i fails (rejected/undeliverable) -> item i+1 at once; ``condition_status`` not
reached within ``expiry_time`` -> item i+1; reached (``read`` also satisfies ``delivered``) -> completed. The
last item delivered -> completed; the last item failed -> error. Exactly one final report per dispatch.
A v1 failover workflow moves on only when a message is rejected or undeliverable, and has no final report.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from typing import Any

from .callbacks import Webhooks
from .clock import Clock, Scheduler, iso
from .events import final_report, inbound_v01, status_body
from .schema import new_uuid
from .state import Account, State

__all__ = ["DEFAULT_DELAYS", "PRICES", "Simulator", "normalise_channel", "plan"]

# Simulated seconds from submission to "delivered" when the recipient has no rule.
DEFAULT_DELAYS = {
    "sms": 2.0,
    "mms": 3.0,
    "messenger": 1.0,
    "whatsapp": 1.0,
    "viber_service_msg": 1.0,
    "rcs": 1.0,
}
DEFAULT_READ_AFTER = 5.0
DEFAULT_ERRORS = {"rejected": 1300, "undeliverable": 1260}
PRICES = {
    "sms": "0.0333",
    "mms": "0.0400",
    "messenger": "0.0050",
    "whatsapp": "0.0050",
    "viber_service_msg": "0.0100",
    "rcs": "0.0050",
}
FAILED = ("rejected", "undeliverable")


def normalise_channel(channel: str) -> str:
    """v1 says ``viber_service`` where v0.1 says ``viber_service_msg``; rules use the v0.1 name."""
    return "viber_service_msg" if channel == "viber_service" else channel


def plan(channel: str, rule: dict | None) -> list[tuple[float, str, int | None]]:
    """The status steps after ``submitted``: ``(delay, status, error_code)``."""
    channel = normalise_channel(channel)
    delivered_after = DEFAULT_DELAYS.get(channel, 1.0)
    if rule is None:
        return [(delivered_after, "delivered", None)]
    outcome, after = rule["outcome"], rule.get("after")
    if outcome == "read":
        after = DEFAULT_READ_AFTER if after is None else float(after)
        return [(min(delivered_after, after), "delivered", None), (after, "read", None)]
    if outcome == "delivered":
        return [(delivered_after if after is None else float(after), "delivered", None)]
    default_after = 0.0 if outcome == "rejected" else delivered_after
    code = rule.get("error_code") or DEFAULT_ERRORS[outcome]
    return [(default_after if after is None else float(after), outcome, code)]


def _workflow_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(26))


class Simulator:
    """Messages, dispatches and their timers over one ``State``; runs on the server's loop."""

    def __init__(self, state: State, clock: Clock):
        self.state = state
        self.clock = clock
        self.scheduler = Scheduler(state, clock, self._fire)
        self.webhooks = Webhooks(state, clock, self.scheduler)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Resume every persisted timer and every delivery that was in flight."""
        self.scheduler.start(asyncio.get_running_loop())
        scheduled = {ref for _, _, kind, ref, _ in self.state.timers() if kind == "deliver"}
        self.webhooks.resume(scheduled)
        self.state.commit()

    async def stop(self) -> None:
        self.scheduler.stop()
        self.checkpoint()
        await self.webhooks.close()
        self.state.commit()

    def checkpoint(self) -> None:
        """Remember simulated time so that a restart continues from here."""
        self.state.set_meta("clock", repr(self.clock.now()))

    def _fire(self, kind: str, ref: str, data: dict, at: float) -> Any:
        if kind == "deliver":
            return self.webhooks.attempt(ref, at)
        if kind == "status":
            self._on_status(ref, data, at)
        elif kind == "expiry":
            self._on_expiry(ref, data, at)
        return None

    # -- routing ----------------------------------------------------------------------------------
    def status_url(self, account: Account, application_id: str | None, auth: str) -> str:
        """JWT -> the application's status URL; Basic -> the account's delivery-receipt URL."""
        if auth == "jwt" and application_id:
            app = self.state.application(application_id)
            return app["status_url"] if app else ""
        return account.dr_url

    def _emit(self, msg: dict, entry: dict) -> None:
        account = self.state.account_by_id(msg["account_id"])
        url = msg.get("webhook_url") or self.status_url(account, msg.get("application_id"), msg["auth"])
        self.webhooks.send(
            account,
            url,
            status_body(msg, entry),
            kind="status",
            at=entry["at_unix"],
            application_id=msg.get("application_id"),
            dispatch_uuid=msg.get("dispatch_uuid"),
            message_uuid=msg["uuid"],
        )

    # -- messages ---------------------------------------------------------------------------------
    def submit(self, msg: dict, at: float) -> dict:
        """Record a new message as ``submitted``, emit that webhook and schedule its later steps."""
        msg.setdefault("uuid", new_uuid())
        msg["created"] = at
        msg["status"] = "submitted"
        msg["usage"] = None
        msg["error_code"] = None
        entry = {"status": "submitted", "at_unix": at, "timestamp": iso(at), "real_time": iso(time.time())}
        msg["history"] = [entry]
        self.state.put_message(msg)
        self._emit(msg, entry)
        ident = msg["to"] if isinstance(msg["to"], str) else (msg["to"].get("id") or msg["to"].get("number"))
        rule = self.state.recipient(msg["account_id"], normalise_channel(msg["channel"]), ident)
        for delay, status, code in plan(msg["channel"], rule):
            self.scheduler.add(at + delay, "status", msg["uuid"], {"status": status, "error_code": code})
        return msg

    def _on_status(self, message_uuid: str, data: dict, at: float) -> None:
        msg = self.state.message(message_uuid)
        if msg is None:
            return
        status = data["status"]
        entry: dict[str, Any] = {
            "status": status,
            "at_unix": at,
            "timestamp": iso(at),
            "real_time": iso(time.time()),
        }
        if status in ("delivered", "read"):
            entry["usage"] = msg["usage"] = {
                "currency": "EUR",
                "price": PRICES.get(normalise_channel(msg["channel"]), "0.0050"),
            }
        if data.get("error_code"):
            entry["error_code"] = msg["error_code"] = data["error_code"]
        msg["status"] = status
        msg["history"].append(entry)
        self.state.put_message(msg)
        self._emit(msg, entry)
        if msg.get("dispatch_uuid"):
            dispatch = self.state.dispatch(msg["dispatch_uuid"])
            if dispatch is not None:
                self._step(dispatch, msg, status, at)

    # -- workflows --------------------------------------------------------------------------------
    def create_workflow(
        self,
        account: Account,
        application_id: str | None,
        auth: str,
        kind: str,
        items: list[dict],
        template: str = "failover",
    ) -> tuple[dict, dict]:
        """Start a dispatch (``kind`` dispatch|workflow) or a v1 failover (``v1``); returns it, message 0."""
        at = self.clock.now()
        dispatch = {
            "uuid": _workflow_id() if kind == "v1" else new_uuid(),
            "account_id": account.id,
            "application_id": application_id,
            "auth": auth,
            "kind": kind,
            "template": template,
            "items": items,
            "current": 0,
            "status": "in_progress",
            "created": at,
            "created_real": iso(time.time()),
            "expiry": None,
            "messages": [],
            "final_report": None,
            "finished": None,
            "events": [],
        }
        first = self._send_item(dispatch, 0, at)
        return dispatch, first

    def _send_item(self, dispatch: dict, index: int, at: float) -> dict:
        item = dispatch["items"][index]
        dispatch["current"] = index
        msg = {
            "uuid": new_uuid(),
            "account_id": dispatch["account_id"],
            "dispatch_uuid": dispatch["uuid"],
            "application_id": dispatch["application_id"],
            "auth": dispatch["auth"],
            "item": index,
        }
        if dispatch["kind"] == "v1":
            msg.update(v1_fields(item))
            msg["workflow"] = {
                "id": dispatch["uuid"],
                "item_number": index + 1,
                "items_total": len(dispatch["items"]),
            }
        else:
            msg.update(
                {
                    "api": "v0.1",
                    "webhook_version": "v0.1",
                    "channel": item["to"]["type"],
                    "to": item["to"],
                    "from": item["from"],
                    "link": "dispatch" if dispatch["kind"] == "dispatch" else "workflow",
                }
            )
        dispatch["messages"].append(msg["uuid"])
        _event(dispatch, at, "sent", item=index, message_uuid=msg["uuid"], channel=msg["channel"])
        failover = item.get("failover") if dispatch["kind"] != "v1" else None
        dispatch["expiry"] = None
        if failover:
            due = at + failover["expiry_time"]
            timer = self.scheduler.add(due, "expiry", dispatch["uuid"], {"item": index})
            dispatch["expiry"] = {
                "item": index,
                "deadline": iso(due),
                "deadline_unix": due,
                "timer": timer,
                "condition_status": failover["condition_status"],
            }
            dispatch["events"][-1].update(expiry_deadline=iso(due), condition_status=failover["condition_status"])
        self.state.put_dispatch(dispatch)
        return self.submit(msg, at)

    def _step(self, dispatch: dict, msg: dict, status: str, at: float) -> None:
        if dispatch["status"] != "in_progress" or msg.get("item") != dispatch["current"]:
            return  # a late status of an earlier message: its own webhook only
        index = dispatch["current"]
        last = index == len(dispatch["items"]) - 1
        if status in FAILED:
            _event(dispatch, at, status, item=index, message_uuid=msg["uuid"])
            if last:
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

    def _on_expiry(self, dispatch_uuid: str, data: dict, at: float) -> None:
        dispatch = self.state.dispatch(dispatch_uuid)
        if dispatch is None or dispatch["status"] != "in_progress" or dispatch["current"] != data["item"]:
            return
        _event(dispatch, at, "expired", item=data["item"])
        self._send_item(dispatch, data["item"] + 1, at)

    def _cancel_expiry(self, dispatch: dict) -> None:
        if dispatch.get("expiry"):
            self.scheduler.cancel(dispatch["expiry"]["timer"])
            dispatch["expiry"] = None

    def _finish(self, dispatch: dict, status: str, at: float) -> None:
        self._cancel_expiry(dispatch)
        dispatch["status"] = status
        dispatch["finished"] = iso(at)
        _event(dispatch, at, status)
        if dispatch["kind"] != "v1":
            messages = [m for m in map(self.state.message, dispatch["messages"]) if m is not None]
            report = final_report(dispatch, messages, at)
            dispatch["final_report"] = report
            account = self.state.account_by_id(dispatch["account_id"])
            url = self.status_url(account, dispatch["application_id"], dispatch["auth"])
            self.webhooks.send(
                account,
                url,
                report,
                kind="final_report",
                at=at,
                application_id=dispatch["application_id"],
                dispatch_uuid=dispatch["uuid"],
            )
        self.state.put_dispatch(dispatch)
        self.state.forget(dispatch["uuid"], *dispatch["messages"])

    # -- inbound ----------------------------------------------------------------------------------
    def inbound(self, account: Account, channel: str, sender: str, recipient: str, text: str, app: dict | None) -> dict:
        """A user writes to a page or number: deliver a v0.1 inbound webhook."""
        at = self.clock.now()
        message_uuid = new_uuid()
        url = app["inbound_url"] if app else account.mo_url
        body = inbound_v01(message_uuid, channel, sender, recipient, text, at)
        delivery = self.webhooks.send(
            account,
            url,
            body,
            kind="inbound",
            at=at,
            application_id=app["id"] if app else None,
            message_uuid=message_uuid,
        )
        return {
            "message_uuid": message_uuid,
            "channel": channel,
            "from": body["from"],
            "to": body["to"],
            "application_id": app["id"] if app else None,
            "delivered_to": url or None,
            "delivery_id": delivery,
            "timestamp": body["timestamp"],
        }


def _event(dispatch: dict, at: float, event: str, **fields: Any) -> None:
    dispatch["events"].append(
        {"at": iso(at), "at_unix": round(at, 3), "real_time": iso(time.time()), "event": event, **fields}
    )


def v1_fields(item: dict) -> dict:
    """The parts of a v1 message a status webhook needs."""
    return {
        "api": "v1",
        "webhook_version": item.get("webhook_version", "v1"),
        "channel": item["channel"],
        "to": item["to"],
        "from": item["from"],
        "client_ref": item.get("client_ref"),
        "webhook_url": item.get("webhook_url"),
    }
