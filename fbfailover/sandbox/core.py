"""The sandbox's parts wired together: settings, state, clock, simulator and authenticator."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from .auth import Authenticator
from .clock import Clock
from .collector import pacer
from .simulation import Simulator
from .state import Account, State

__all__ = ["Core", "SandboxSettings"]

VERSION = "1"

@dataclass(frozen=True)
class SandboxSettings:
    """How a sandbox runs; every field has the default of ``fbfailover sandbox``."""

    time_scale: float = 600.0
    clock: str = "real"  # "real" (scaled) or "manual"
    api_key: str | None = None
    api_secret: str | None = None
    signature_secret: str | None = None
    workshop: bool = False
    instructor_token: str | None = None
    max_body: int = 1024 * 1024

    def __post_init__(self) -> None:
        if self.clock not in ("real", "manual"):
            raise ValueError("clock must be 'real' or 'manual'")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")


class Core:
    """Everything a request handler needs; lives on the server's loop."""

    def __init__(self, state: State, settings: SandboxSettings | None = None):
        self.settings = settings or SandboxSettings()
        self.state = state
        self._primary_id = state.primary_account(
            self.settings.api_key, self.settings.api_secret, self.settings.signature_secret
        ).id
        start = float(state.meta("clock") or time.time())
        self.clock = Clock(start, self.settings.time_scale, manual=self.settings.clock == "manual")
        self.sim = Simulator(state, self.clock)
        self.auth = Authenticator(state)
        self.started = False
        state.before_commit = self.sim.checkpoint

    @property
    def account(self) -> Account:
        """The primary account (the one the control API acts on by default)."""
        return self.state.account_by_id(self._primary_id)

    async def start(self) -> None:
        """Resume persisted timers and deliveries (awaited on the server's loop)."""
        self.sim.start()
        pacer.acquire()
        self.started = True

    async def stop(self) -> None:
        """Stop timers, let in-flight webhooks finish briefly, then flush and close the database."""
        if self.started:
            try:
                await self.sim.stop()
            finally:
                self.started = False
                pacer.release()
        self.state.close()

    def commit(self) -> None:
        self.state.commit()

    def saved(self) -> asyncio.Future:
        """Await before answering: resolves once this iteration's group commit is done."""
        return self.state.commit_soon()
