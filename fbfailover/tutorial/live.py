"""Live mode's stand-in for the sandbox's controls, and the guard that keeps a live run to one paid send.

The notebooks are the same in every mode. Cells that steer the offline sandbox (a recipient who reads, a Messenger
rejection, the stepped clock, the exercises' checks) mean nothing against Vonage's live API, where real people
decide: there ``tut.sandbox`` is a ``LiveControls`` whose calls do nothing and say so, instead of failing. And
since every send is a real, paid message, ``tut.send`` sends one workflow per notebook without asking; any further
one needs ``confirm=True``.
"""

from __future__ import annotations

from typing import Any

from fbfailover.tutorial.display import Panel

__all__ = ["LIVE_SIMULATION_NOTE", "LiveControls"]

LIVE_SIMULATION_NOTE = ("Live mode: real people decide what happens to a message, so there is nothing to simulate "
                        "and nothing was changed. This part of the notebook shows its full effect in the offline "
                        "sandbox.")


class LiveControls:
    """What ``tut.sandbox`` is in live mode: the sandbox's control calls, each a no-op that explains itself."""

    def _note(self, *_: Any, **__: Any) -> Panel:
        return Panel(LIVE_SIMULATION_NOTE, [])

    set_recipient = reset_recipients = inbound = advance = _note

    def deliveries(self, *_: Any, **__: Any) -> list[dict]:
        """No sandbox records in live mode: nothing was recorded here."""
        return []

    def __repr__(self) -> str:
        return "LiveControls(live mode: the sandbox's controls do nothing)"
