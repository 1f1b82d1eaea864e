"""Simulated messages: each is ``submitted`` at once, then steps to its outcome on persisted timers; and inbound
messages from users.

How long each step takes comes from the channel table (``fbfailover.channels``) and the recipient's rule
(``PUT /_sandbox/recipients/...``). Every step is a status webhook. Parts that care about a message's steps
(the failover state machine) subscribe to them with ``listen()``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fbfailover.channels import DEFAULT_ERRORS, DEFAULT_READ_AFTER, by_name

from .bodies import address_v01, anchor, inbound, inbound_sms, shown, status_body
from .clock import TimerKind

if TYPE_CHECKING:
    from .activity import Activity
    from .catalog import Account, Accounts, Catalog
    from .clock import Clock, Scheduler
    from .records import Records
    from .webhook_delivery import Webhooks

__all__ = ["Messages", "plan", "rule_channel"]

Listener = Callable[[dict, str, float], None]


def rule_channel(channel: str) -> str:
    """The name recipient rules use for ``channel`` (its v0.1 name: ``viber_service`` is ``viber_service_msg``)."""
    found = by_name(channel)
    return found.name if found else channel


def plan(channel: str, rule: dict | None) -> list[tuple[float, str, int | None]]:
    """The status steps after ``submitted``: ``(delay, status, error_code)``, from the table and the rule."""
    found = by_name(channel)
    delivered_after = found.delivered_after if found else 1.0
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


class Messages:
    """Messages and their status steps, on the server's loop."""

    def __init__(self, records: Records, catalog: Catalog, accounts: Accounts, clock: Clock, scheduler: Scheduler,
                 webhooks: Webhooks, activity: Activity | None = None):
        self.records = records
        self.activity = activity
        self.catalog = catalog
        self.accounts = accounts
        self.clock = clock
        self.scheduler = scheduler
        self.webhooks = webhooks
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Call ``listener(message, status, at)`` after every status step of every message."""
        self._listeners.append(listener)

    # -- routing ----------------------------------------------------------------------------------------
    def status_url(self, account: Account, application_id: str | None, auth: str) -> str:
        """JWT -> the application's status URL; Basic -> the account's delivery-receipt URL."""
        if auth == "jwt" and application_id:
            app = self.catalog.application(application_id)
            return app["status_url"] if app else ""
        return account.dr_url

    def webhook_version(self, item: dict, application_id: str | None) -> str:
        """The shape of a v1 message's status webhooks: the version the send or the application asks for
        (``webhook_version``, else ``capabilities.messages.version``, else v1)."""
        app = self.catalog.application(application_id) if application_id else None
        return item.get("webhook_version") or (app or {}).get("messages_version") or "v1"

    def _emit(self, msg: dict, entry: dict) -> None:
        account = self.accounts.by_id(msg["account_id"])
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

    # -- messages ---------------------------------------------------------------------------------------
    def submit(self, msg: dict, at: float) -> dict:
        """Record a new message as ``submitted``, emit that webhook and schedule its later steps."""
        msg.setdefault("uuid", str(uuid.uuid4()))
        msg.setdefault("offset", anchor(at))  # a message of a dispatch has the dispatch's
        msg["created"] = at
        msg["status"] = "submitted"
        msg["usage"] = None
        msg["error_code"] = None
        entry = {"status": "submitted", "at_unix": at, "timestamp": shown(at, msg), "real_time": _real_now()}
        _charge(msg, entry)
        msg["history"] = [entry]
        self.records.put_message(msg)
        self._emit(msg, entry)
        ident = msg["to"] if isinstance(msg["to"], str) else (msg["to"].get("id") or msg["to"].get("number"))
        rule = self.catalog.recipient(msg["account_id"], rule_channel(msg["channel"]), ident)
        for delay, status, code in plan(msg["channel"], rule):
            self.scheduler.add(at + delay, TimerKind.STATUS, msg["uuid"], {"status": status, "error_code": code})
        return msg

    def on_status_timer(self, message_uuid: str, data: dict, at: float) -> None:
        """The ``STATUS`` timer of a message: record its next step, emit that webhook, tell the listeners."""
        msg = self.records.message(message_uuid)
        if msg is None:
            return
        status = data["status"]
        entry: dict[str, Any] = {"status": status, "at_unix": at, "timestamp": shown(at, msg), "real_time": _real_now()}
        _charge(msg, entry)
        if data.get("error_code"):
            entry["error_code"] = msg["error_code"] = data["error_code"]
        msg["status"] = status
        msg["history"].append(entry)
        self.records.put_message(msg)
        self._emit(msg, entry)
        for listener in self._listeners:
            listener(msg, status, at)

    # -- inbound ----------------------------------------------------------------------------------------
    def inbound(self, account: Account, channel: str, sender: str, recipient: str, text: str,
                app: dict | None) -> dict:
        """A user writes to a page or number: deliver the inbound webhook (the application's version, else v0.1).

        An SMS to a number linked to no application goes to the account's ``moCallBackUrl`` in the SMS API's own
        format (``msisdn``, ``to``, ``messageId``, ``text``...), signed with ``sig`` rather than a JWT.
        """
        at = self.clock.now()
        url = app["inbound_url"] if app else account.mo_url
        found = by_name(channel)
        sms_api = found.inbound_without_application if found else None
        if sms_api and app is None:  # the SMS API's own format (the only API the table names here)
            version, kind = sms_api, "inbound_sms"
            body = inbound_sms(account.api_key, account.signature_secret, sender, recipient, text, time.time())
            message_uuid, timestamp = body["messageId"], body["message-timestamp"]
        else:
            version, kind = (app or {}).get("messages_version") or "v0.1", "inbound"
            message_uuid = str(uuid.uuid4())
            body = inbound(version, message_uuid, channel, sender, recipient, text, time.time())
            timestamp = body["timestamp"]
        delivery = self.webhooks.send(
            account, url, body, kind=kind, at=at, application_id=app["id"] if app else None,
            message_uuid=message_uuid,
        )
        if self.activity is not None:
            self.activity.step(account.id, "inbound")
        return {
            "message_uuid": message_uuid,
            "channel": channel,
            "from": address_v01(channel, sender, "to"),  # a user is addressed like a recipient
            "to": address_v01(channel, recipient, "from"),
            "application_id": app["id"] if app else None,
            "delivered_to": url or None,
            "delivery_id": delivery,
            "timestamp": timestamp,
            "webhook_version": version,
        }


def _charge(msg: dict, entry: dict[str, Any]) -> None:
    """Put ``usage`` on the status at which the channel charges (SMS and MMS when submitted, the others when
    delivered), once per message: cost tracking that sums ``usage`` over the webhooks counts each message once."""
    found = by_name(msg["channel"])
    if entry["status"] == (found.charged_at if found else "delivered"):
        entry["usage"] = msg["usage"] = {"currency": "EUR", "price": found.price if found else "0.0050"}


def _real_now() -> str:
    return shown(time.time(), {})
