"""Control endpoints under ``/_sandbox/``: recipients, inbound messages, the clock, accounts (the timelines and
listings are in ``inspection.py``).

They act on the primary account, or on the account named by a Basic ``Authorization`` header. In workshop
mode that header is required, ``POST /_sandbox/accounts`` (with the workshop token) creates further accounts,
and only the primary (instructor's) account may move the clock everyone shares.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING

from fbfailover.channels import CHANNELS, ERROR_CODES, AddressKind, TableMapping, by_name
from fbfailover.config import display_name

from ..bodies import iso
from ..http import ERRORS, TOKEN_HEADER, ControlHandler, Problem

if TYPE_CHECKING:
    from ..clock import Clock

__all__ = ["TOKEN_HEADER", "control_routes"]


DEFAULT_DELAYS = TableMapping(lambda: {c.name: c.delivered_after for c in CHANNELS})


class InfoHandler(ControlHandler):
    def get(self) -> None:
        self.reply(
            200,
            {
                "sandbox": "fbfailover",
                "api_key": self.account().api_key,
                "clock": _clock(self.core.clock),
                "pending_timers": len(self.core.scheduler),
                "default_delays": dict(DEFAULT_DELAYS),
            },
        )


class ClockHandler(ControlHandler):
    def get(self) -> None:
        self.account()  # in workshop mode: credentials first
        self.reply(200, _clock(self.core.clock))


class AdvanceHandler(ControlHandler):
    body_kind = "control"

    async def post(self) -> None:
        self.instructor()
        body = self.checked_body("advance")
        fired = await self.core.scheduler.advance(float(body["seconds"]))
        self.reply(200, {**_clock(self.core.clock), "fired": fired})


class RecipientsHandler(ControlHandler):
    def get(self) -> None:
        self.reply(200, {"recipients": self.core.catalog.recipients(self.account().id)})

    def delete(self) -> None:
        removed = self.core.catalog.delete_recipients(self.account().id)
        self.core.db.commit()
        self.reply(200, {"removed": removed})


class RecipientHandler(ControlHandler):
    body_kind = "control"

    def _channel(self, name: str) -> str:
        channel = by_name(name)
        if channel is None:
            names = sorted({c.name for c in CHANNELS} | {c.v1_name for c in CHANNELS if c.v1_name})
            raise self.invalid([{"name": "channel", "reason": "must be one of: " + ", ".join(names)}])
        return channel.name

    def put(self, channel: str, ident: str) -> None:
        account = self.account()  # credentials first: a caller without them learns nothing of the rules
        channel = self._channel(channel)
        body = self.checked_body("recipient")
        outcome, code = body["outcome"], body.get("error_code")
        problems = []
        if outcome == "read" and not by_name(channel).readable:  # type: ignore[union-attr]
            problems.append({"name": "outcome", "reason": f"{channel} never reports read; use delivered"})
        if code is not None and outcome not in ("rejected", "undeliverable"):
            problems.append({"name": "error_code", "reason": "only applies to rejected or undeliverable"})
        if code is not None and code not in ERROR_CODES:
            problems.append({"name": "error_code", "reason": "must be one of the documented codes 1000..1382"})
        if problems:
            raise self.invalid(problems)
        rule = {"outcome": outcome, "after": body.get("after"), "error_code": code}
        self.core.catalog.set_recipient(account.id, channel, ident, rule)
        self.core.db.commit()
        self.reply(200, {"channel": channel, "id": ident, **rule})

    def get(self, channel: str, ident: str) -> None:
        account = self.account()
        channel = self._channel(channel)
        rule = self.core.catalog.recipient(account.id, channel, ident)
        self.reply(
            200,
            {
                "channel": channel,
                "id": ident,
                "default": rule is None,
                **(rule or {"outcome": "delivered", "after": DEFAULT_DELAYS.get(channel), "error_code": None}),
            },
        )

    def delete(self, channel: str, ident: str) -> None:
        account = self.account()
        removed = self.core.catalog.delete_recipients(account.id, self._channel(channel), ident)
        self.core.db.commit()
        self.reply(200, {"removed": removed})


class InboundHandler(ControlHandler):
    body_kind = "send"

    def post(self) -> None:
        account = self.account()
        body = self.checked_body("inbound")
        channel = body["channel"]
        app = None
        if body.get("application_id"):
            app = self.core.catalog.application(body["application_id"])
            if app is None or app["account_id"] != account.id:
                raise self.invalid([{"name": "application_id", "reason": "no such application in this account"}])
        # Without an application the Page or number is linked to none, and Vonage sends its messages to the
        # account-level inbound webhook (moCallBackUrl).
        table = by_name(channel)
        # The user is addressed like the channel's recipients, the page or number like its senders.
        sender = body.get("from") or _made_up(table.kind("to"), 16)
        recipient = body.get("to") or _made_up(table.kind("from"), 15)
        result = self.core.messages.inbound(account, channel, sender, recipient, body.get("text") or "Hello", app)
        self.core.db.commit()
        self.reply(202, result)


def _clock(clock: Clock) -> dict:
    """Where simulated time stands, as the control API shows it."""
    now = clock.now()
    return {"mode": "manual" if clock.manual else "real", "time_scale": clock.scale, "now": iso(now),
            "now_unix": round(now, 3)}


def _made_up(kind: AddressKind, id_length: int) -> str:
    """An address of ``kind`` for a user or page the request did not name: the kind's sample, a UK mobile
    number, or an id of ``id_length`` digits."""
    if kind.sample is not None:
        return kind.sample
    return _digits(id_length) if kind.pattern is None else _digits(12, "447")


def _digits(n: int, prefix: str = "") -> str:
    return prefix + "".join(secrets.choice("0123456789") for _ in range(n - len(prefix) - 1)) + "7"


class AccountsHandler(ControlHandler):
    """``POST /_sandbox/accounts``: a fresh account for one attendee (workshop mode, workshop token)."""
    body_kind = "control"

    async def post(self) -> None:
        token = self.core.settings.instructor_token
        if not self.core.settings.workshop or not token:
            raise Problem(
                404,
                "Not Found",
                "Accounts can only be created in workshop mode (fbfailover sandbox --workshop)",
                type=f"{ERRORS}#not-found",
            )
        given = self.request.headers.get(TOKEN_HEADER) or ""
        if not hmac.compare_digest(token.encode(), given.encode("utf-8", "replace")):
            raise Problem(
                401,
                "Unauthorised",
                f"Send the workshop token (FBFAILOVER_WORKSHOP_TOKEN) in the {TOKEN_HEADER} header",
                type=f"{ERRORS}#unauthorized",
            )
        body = self.body(empty={})
        name = _name(body) if isinstance(body, dict) and body.get("name") is not None else None
        limit = self.core.settings.max_accounts
        if self.core.accounts.count() >= limit:
            raise Problem(429, "Too Many Accounts", f"This workshop holds at most {limit} accounts and has them all; "
                          "the instructor can start the sandbox with a larger --max-accounts",
                          type=f"{ERRORS}#too-many-accounts")
        account = self.core.accounts.create()
        self.account_id = account.id  # the attendee's row on the workshop dashboard starts with this request
        self.core.activity.joined(account.id, name)
        await self.reply_saved(
            201,
            {
                "api_key": account.api_key,
                "api_secret": account.api_secret,
                "signature_secret": account.signature_secret,
            },
        )


class AttendeeHandler(ControlHandler):
    """``PUT /_sandbox/attendee`` ``{"name": "Ada"}``: the display name the workshop dashboard shows for the
    account named by the Basic credentials (a kernel sends ``FBFAILOVER_ATTENDEE_NAME`` each time it joins)."""
    body_kind = "control"

    def put(self) -> None:
        account = self.account()
        body = self.body(empty={})
        name = _name(body if isinstance(body, dict) else {})
        self.core.activity.rename(account.id, name)
        self.reply(200, {"api_key": account.api_key, "name": name})


def _name(body: dict) -> str:
    """The ``name`` field as a display name, or a 400 that says what is wrong with it."""
    try:
        return display_name(body.get("name"))
    except ValueError as exc:
        raise Problem(400, "Bad Request", f"name {exc}", type=f"{ERRORS}#invalid-name",
                      invalid_parameters=[{"name": "name", "reason": str(exc)}]) from exc


def control_routes(opts: dict) -> list[tuple]:
    return [
        (r"/_sandbox/?", InfoHandler, opts),
        (r"/_sandbox/clock/?", ClockHandler, opts),
        (r"/_sandbox/clock/advance/?", AdvanceHandler, opts),
        (r"/_sandbox/recipients/?", RecipientsHandler, opts),
        (r"/_sandbox/recipients/([^/]+)/([^/]+)/?", RecipientHandler, opts),
        (r"/_sandbox/inbound/?", InboundHandler, opts),
        (r"/_sandbox/accounts/?", AccountsHandler, opts),
        (r"/_sandbox/attendee/?", AttendeeHandler, opts),
    ]
