"""The offline Vonage sandbox: Dispatch, Messages v0.1/v1, Applications v2 and Account settings, simulated.

``start()`` runs it inside this process (what the notebooks do); ``fbfailover sandbox`` runs it standalone.
Names load lazily so that importing the CLI stays cheap. ``README.md`` here says what is emulated.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["Sandbox", "SandboxControl", "SandboxSettings", "default_db", "make_app", "start"]

_HOMES = {
    "Sandbox": "embedded",
    "SandboxControl": "embedded",
    "default_db": "storage",
    "start": "embedded",
    "make_app": "server",
    "SandboxSettings": "core",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
