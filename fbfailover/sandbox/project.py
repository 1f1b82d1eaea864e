"""One sandbox per project: a background ``fbfailover sandbox`` process that every kernel of the project shares.

A learner keeps several notebooks open, each with its own kernel. They must see one Vonage: the same
applications, dispatches and webhooks, one clock and one set of failover timers. So the offline sandbox is a
process of its own, started by the first kernel that needs it (``ensure_project_sandbox``), in its own session
so that it outlives that kernel, and found by every later one:

- ``<data folder>/sandbox.json`` (mode 0600) says where it is: pid, URL, database, the account's credentials. The
  sandbox writes it once it listens; a kernel trusts it only when that pid is alive *and* the URL answers as an
  fbfailover sandbox.
- ``<data folder>/sandbox.log`` (mode 0600) gets what the process prints.
- ``<data folder>/sandbox.sqlite3`` is its database, locked by the process (``storage.DatabaseLock``): a second
  sandbox on the same file is refused at start.

Kernels that start at the same moment take turns (``sandbox.start.lock``), so one process is started, not three.
A sandbox that died is started again by the next kernel call that needs it, on the same port: the database holds
everything it committed. A request refused with "connection refused" never reached it and is sent again after the
restart (``RestartingAdapter``); a request that was sent and got no answer is never sent again (the client says so).
The process ends by itself two minutes after its last request (a kernel's event stream asks every few seconds, so
that is two minutes after the last kernel that listened went away), or when its ``sandbox.json`` is removed or
names another process; ``fbfailover sandbox --stop`` ends it at once.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from fbfailover.errors import SandboxError

from .embedded import SandboxControl
from .instance import (
    LOG_FILE,
    SandboxState,
    alive,
    answers,
    files,
    read_state,
    started,
    stop_project_sandbox,
)

__all__ = ["IDLE_EXIT", "ProjectSandbox", "RestartingAdapter", "ensure_project_sandbox", "stop_project_sandbox"]

_START_LOCK = "sandbox.start.lock"
IDLE_EXIT = 120.0  # real seconds without a request after which the project's sandbox ends itself


@contextlib.contextmanager
def _start_lock(folder: Path, timeout: float) -> Iterator[None]:
    """Kernels starting at the same moment take turns, so that one sandbox is started."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the database lock still refuses a second sandbox
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / _START_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SandboxError(f"another kernel has been starting the project's sandbox for {timeout:g} s: "
                                       f"see {folder / LOG_FILE}") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _running(state_file: Path) -> SandboxState | None:
    state = read_state(state_file)
    if state is not None and alive(state.pid) and answers(state.url):
        return state
    return None


def _log_tail(log_file: Path, lines: int = 3) -> str:
    try:
        text = log_file.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(text[-lines:])


def _spawn(state_file: Path, log_file: Path, db: Path, port: int, environ: Mapping[str, str] | None,
           timeout: float) -> SandboxState:
    env = dict(os.environ if environ is None else environ)
    command = [sys.executable, "-m", "fbfailover.sandbox", "--host", "127.0.0.1", "--port", str(port),
               "--db", str(db), "--state-file", str(state_file), "--exit-when-idle", f"{IDLE_EXIT:g}"]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                   start_new_session=True, close_fds=True)
    started[process.pid] = process
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            started.pop(process.pid, None)
            raise SandboxError(f"the project's sandbox did not start: {_log_tail(log_file) or 'no output'} "
                               f"(its log: {log_file})")
        state = read_state(state_file)
        if state is not None and state.pid == process.pid and answers(state.url, timeout=1.0):
            return state
        time.sleep(0.01)
    raise SandboxError(f"the project's sandbox did not answer within {timeout:g} s: see {log_file}")


def _ensure_state(environ: Mapping[str, str] | None, timeout: float) -> SandboxState:
    state_file, log_file, db = files(environ)
    found = _running(state_file)
    if found is not None:
        return found
    with _start_lock(state_file.parent, timeout):
        found = _running(state_file)  # another kernel may have started it while this one waited
        if found is not None:
            return found
        previous = read_state(state_file)
        port = previous.port if previous is not None and _port_free(previous.port) else 0
        return _spawn(state_file, log_file, db, port, environ, timeout)


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ProjectSandbox(SandboxControl):
    """The project's sandbox process, as a kernel sees it: its URL, account and control calls.

    A control call that finds it gone (connection refused) starts it again and is sent again; so does every request
    of a session given to ``mount``.

    Args:
        state: where it runs and its account (``sandbox.json``).
        environ: the environment it was found with (its data folder; a restart passes it on).
    """

    def __init__(self, state: SandboxState, environ: Mapping[str, str] | None = None):
        super().__init__(state.url)
        self.state = state
        self.environ = environ
        self.mount(self._session)

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def api_secret(self) -> str:
        return self.state.api_secret

    @property
    def signature_secret(self) -> str:
        return self.state.signature_secret

    @property
    def db(self) -> str:
        return self.state.db

    @property
    def pid(self) -> int:
        return self.state.pid

    @property
    def time_scale(self) -> float:
        return self.state.time_scale

    @property
    def running(self) -> bool:
        """True while the process answers (a call would start it again otherwise)."""
        return alive(self.state.pid) and answers(self.url)

    def restart(self, timeout: float = 20.0) -> SandboxState:
        """Make sure the project's sandbox runs (starting it again when it died) and return where it is.

        Raises:
            SandboxError: it could not be started, or it had to move to another port (the session's URLs are then
                stale: run ``tutorial.connect()`` again).
        """
        state = _ensure_state(self.environ, timeout)
        if state.url != self.url:
            raise SandboxError(f"the project's sandbox had to start again on another address ({state.url}, its "
                               f"port was taken): run tutorial.connect() again")
        self.state = state
        return state

    def mount(self, session: requests.Session) -> None:
        """Send ``session``'s requests to this sandbox through a ``RestartingAdapter`` (keeping its retry policy)."""
        base = session.get_adapter(self.url)
        retries = base.max_retries.new(connect=0) if isinstance(base, HTTPAdapter) else 0
        session.mount(self.url + "/", RestartingAdapter(self, max_retries=retries))

    def stop(self) -> str:
        """End the project's sandbox process (every kernel's next call starts it again); returns what was done."""
        self.close()
        return stop_project_sandbox(self.environ)

    def __repr__(self) -> str:
        return f"<ProjectSandbox {self.url} pid={self.state.pid} api_key={self.api_key} db={self.db}>"


class RestartingAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that starts the project's sandbox again when a connection to it is refused, then resends.

    Only a refused connection is resent: that request never reached a server. A request that was sent and got no
    answer raises as it would anyway (the client never resends a POST that may have been accepted).
    """

    def __init__(self, sandbox: ProjectSandbox, **kwargs: Any):
        self.sandbox = sandbox
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        try:
            return super().send(request, *args, **kwargs)
        except requests.ConnectionError as exc:
            if not _refused(exc):
                raise
        self.sandbox.restart()
        return super().send(request, *args, **kwargs)


def _refused(exc: requests.ConnectionError) -> bool:
    """Whether the connection was never made: the request cannot have reached the server."""
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, (NewConnectionError, ConnectionRefusedError))


def ensure_project_sandbox(environ: Mapping[str, str] | None = None, *, timeout: float = 20.0) -> ProjectSandbox:
    """Return the project's sandbox, starting it in the background when none runs.

    Args:
        environ: the environment whose data folder holds the sandbox (and that a started process gets).
        timeout: real seconds to wait for a started sandbox to answer.

    Raises:
        SandboxError: it did not start (the reason is the last lines of its log, e.g. a database another program
            holds).
    """
    return ProjectSandbox(_ensure_state(environ, timeout), environ)


