"""The simulated world: messages and their status steps, webhooks, inbound messages and the clock checkpoint.

Each status step of a message is a persisted timer; how channels and recipients behave is in ``channels``, the
failover state machine of dispatches and workflows in ``workflows``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .callbacks import Webhooks
from .channels import PRICES, normalise_channel, plan
from .clock import Clock, Scheduler, iso
from .events import inbound_v01, status_body
from .schema import new_uuid
from .state import Account, State
from .workflows import Workflows

__all__ = ["Simulator"]

class Simulator(Workflows):
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
