"""The sandbox's parts, wired together once: storage, clock and timers, webhooks, messages, failover, auth.

Each part receives what it uses through its constructor; nothing here is a base class of anything. The
wiring that makes the parts run later is all here, in ``Core.__init__``: which part runs each kind of timer
(``TimerKind``) and who hears a message's status steps (``Failover`` listens to ``Messages``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from .activity import Activity
from .auth import Authenticator
from .catalog import Account, Accounts, Catalog
from .clock import Clock, Scheduler, TimerKind
from .failover import Failover
from .mailbox import Mailbox
from .messages import Messages
from .records import Records
from .storage import Database
from .webhook_delivery import Webhooks

__all__ = ["Core", "SandboxSettings"]


@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox runs; every field has the default of ``fbfailover sandbox``."""

    time_scale: float = 600.0
    clock: str = "real"  # "real" (scaled) or "manual"
    api_key: str | None = None
    api_secret: str | None = None
    signature_secret: str | None = None
    workshop: bool = False
    instructor_token: str | None = None  # the join token attendees create accounts with
    dashboard_token: str | None = None  # the instructor's alone: the dashboard lists every api_key
    max_accounts: int = 200  # accounts a workshop may hold, the instructor's included
    #: Listening on loopback only: every caller already reaches this machine's ports, so a workshop allows
    #: callback URLs on loopback (a rehearsal on one machine); otherwise it refuses them.
    loopback_only: bool = False

    def __post_init__(self) -> None:
        if self.clock not in ("real", "manual"):
            raise ValueError("clock must be 'real' or 'manual'")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.max_accounts < 1:
            raise ValueError("max_accounts must be at least 1")


class Core:
    """Everything a request handler needs; lives on the server's loop.

    Args:
        db: the database (``Database(path)``); the core closes it when it stops.
        settings: how the sandbox runs.
    """

    def __init__(self, db: Database, settings: SandboxSettings | None = None):
        self.settings = settings or SandboxSettings()
        self.db = db
        self.accounts = Accounts(db)
        self.catalog = Catalog(db)
        self.records = Records(db)
        self._primary_id = self.accounts.primary(
            self.settings.api_key, self.settings.api_secret, self.settings.signature_secret
        ).id
        start = float(db.meta("clock") or time.time())
        self.clock = Clock(start, self.settings.time_scale, manual=self.settings.clock == "manual")
        self.scheduler = Scheduler(db, self.records, self.clock)
        self.mailbox = Mailbox(db, max_polls=max(256, 2 * self.settings.max_accounts))  # a kernel holds one
        self.webhooks = Webhooks(db, self.records, self.accounts, self.clock, self.scheduler, self.mailbox)
        self.activity = Activity()  # what each account did lately: the workshop dashboard reads it
        self.messages = Messages(self.records, self.catalog, self.accounts, self.clock, self.scheduler, self.webhooks,
                                 activity=self.activity)
        self.failover = Failover(self.records, self.accounts, self.clock, self.scheduler, self.messages,
                                 self.webhooks, activity=self.activity)
        # What runs when a timer is due, and who hears a message's status steps: the only wiring of the parts.
        self.scheduler.on(TimerKind.DELIVER, self.webhooks.attempt)
        self.scheduler.on(TimerKind.STATUS, self.messages.on_status_timer)
        self.scheduler.on(TimerKind.EXPIRY, self.failover.on_expiry)
        self.messages.listen(self.failover.on_status)
        self.auth = Authenticator(self.accounts, self.catalog)
        db.before_commit.append(self._remember_clock)
        self.started = False

    @classmethod
    def open(cls, path: str | Path, settings: SandboxSettings | None = None) -> Core:
        """A core over the database at ``path`` (``":memory:"`` keeps nothing)."""
        return cls(Database(path), settings)

    @property
    def account(self) -> Account:
        """The primary account (the one the control API acts on by default)."""
        return self.accounts.by_id(self._primary_id)

    def _remember_clock(self) -> None:
        """Every commit saves simulated time, so that a restart continues from here."""
        self.db.set_meta("clock", repr(self.clock.now()))

    async def start(self) -> None:
        """Resume persisted timers and the deliveries that were in flight (on the server's loop)."""
        self.scheduler.start(asyncio.get_running_loop())
        scheduled = {ref for _, _, kind, ref, _ in self.records.timers() if kind == TimerKind.DELIVER.value}
        self.webhooks.resume(scheduled)
        self.db.commit()
        self.started = True

    async def stop(self) -> None:
        """Stop timers, let in-flight webhooks finish briefly, then commit and close the database."""
        try:
            if self.started:
                self.scheduler.stop()
                await self.webhooks.close()
        finally:
            self.started = False
            self.db.close()
