"""The project's sandbox process as files: where it runs (``sandbox.json``), whether it lives, how to end it.

``fbfailover sandbox --state-file`` writes the state once it listens; kernels read it (``project.py``) and
``fbfailover sandbox --stop`` ends the process it names. Only the standard library and ``requests``: the command
line imports this without the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from fbfailover.config import data_dir

__all__ = ["DB_FILE", "LOG_FILE", "SANDBOX_HEADER", "STATE_FILE", "SandboxState", "alive", "answers", "files",
           "read_state", "started", "stop_project_sandbox", "write_private", "write_state"]

STATE_FILE = "sandbox.json"
LOG_FILE = "sandbox.log"
DB_FILE = "sandbox.sqlite3"
SANDBOX_HEADER = "X-Fbfailover-Sandbox"
#: The sandbox processes this interpreter started, so that stopping one also reaps it.
started: dict[int, subprocess.Popen] = {}


@dataclass(frozen=True)
class SandboxState:
    """What ``sandbox.json`` holds: where the project's sandbox listens and the account it serves."""

    pid: int
    url: str
    db: str
    api_key: str
    api_secret: str
    signature_secret: str
    time_scale: float
    started: float

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


def write_state(path: str | os.PathLike[str], state: SandboxState) -> None:
    """Write ``state`` to ``path`` atomically, readable by this user only (it holds the account's secrets)."""
    write_private(path, json.dumps(asdict(state)))


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically, created 0600 (readable by this user only) before a byte is written."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an old partial file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(partial, target)


def read_state(path: str | os.PathLike[str]) -> SandboxState | None:
    """The state in ``path``, or None when there is none (or it cannot be read)."""
    try:
        return SandboxState(**json.loads(Path(path).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's: not ours to use
        return False
    child = started.get(pid)
    return child is None or child.poll() is None  # a child of ours that ended is a zombie until reaped


def answers(url: str, timeout: float = 2.0) -> bool:
    """Whether an fbfailover sandbox answers at ``url``."""
    import requests  # here: the sandbox process imports this module and never needs requests

    try:
        response = requests.get(f"{url}/v0.1/dispatch/ping", timeout=timeout)
    except requests.RequestException:
        return False
    return response.ok and SANDBOX_HEADER in response.headers



def files(environ: Mapping[str, str] | None) -> tuple[Path, Path, Path]:
    """``(state, log, database)`` of the project's sandbox in the data folder of ``environ``."""
    folder = data_dir(environ)
    return folder / STATE_FILE, folder / LOG_FILE, folder / DB_FILE


def stop_project_sandbox(environ: Mapping[str, str] | None = None, timeout: float = 10.0) -> str:
    """End the project's sandbox process (found by ``sandbox.json``); returns what was done."""
    state_file, _, _ = files(environ)
    state = read_state(state_file)
    if state is None or not alive(state.pid):
        return "the project's sandbox is not running"
    with contextlib.suppress(ProcessLookupError):
        os.kill(state.pid, signal.SIGTERM)
    child = started.pop(state.pid, None)
    deadline = time.monotonic() + timeout
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=timeout)
    while time.monotonic() < deadline and alive(state.pid):
        time.sleep(0.05)
    return f"stopped the project's sandbox (pid {state.pid})"
