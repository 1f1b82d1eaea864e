"""One receiver per project in live mode: find the one running on the known port, or start it in the background.

Live mode has one public address (a tunnel to ``FBFAILOVER_RECEIVER_PORT``), so every kernel of the project
must share one receiver: a background ``fbfailover receiver --port P`` process (its own session, so it outlives
the kernel that started it) owns the port, and kernels subscribe to its event log (``eventlog.py``). Its output
goes to ``<data folder>/receiver.log`` (created 0600, each body cut at 4 KiB, rotated to ``receiver.log.1`` past
10 MiB: see ``webhooks.cli``) and its pid to ``<data folder>/receiver.pid``; ``stop_shared_receiver()``
(``fbfailover receiver --stop``) ends it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

from fbfailover.config import Settings, data_dir
from fbfailover.errors import ConfigError

__all__ = ["ECHO_PATH", "RECEIVER_HEADER", "ensure_shared_receiver", "probe", "stop_shared_receiver"]

RECEIVER_HEADER = "X-Fbfailover-Receiver"  # on every answer of a receiver
#: The round-trip route of ``fbfailover doctor`` (``webhooks.app.EchoHandler``).
ECHO_PATH = "/_fbfailover/echo"
# The processes this interpreter started, so stopping one also reaps it (no zombie, no "still running" warning).
_started: dict[int, subprocess.Popen] = {}


def probe(port: int, timeout: float = 1.0) -> str:
    """Say what answers on ``127.0.0.1:port``: ``"ours"``, ``"other"`` (something else) or ``"free"``."""
    try:
        response = requests.get(f"http://127.0.0.1:{port}/health", timeout=timeout)
    except requests.ConnectionError:
        return "free"
    except requests.RequestException:
        return "other"
    return "ours" if response.headers.get(RECEIVER_HEADER) and response.ok else "other"


def _files(environ: Mapping[str, str] | None) -> tuple[Path, Path]:
    folder = data_dir(environ)
    return folder / "receiver.pid", folder / "receiver.log"


def ensure_shared_receiver(settings: Settings, environ: Mapping[str, str] | None = None,
                           timeout: float = 15.0) -> str:
    """Return the local URL of the project's receiver, starting it in the background when none runs.

    Args:
        settings: ``receiver_port`` is the port; the process reads the same settings (secrets never go on its
            command line).
        environ: the environment the process gets (and where the data folder is looked up).
        timeout: seconds to wait for a started receiver to answer.

    Raises:
        ConfigError: the port is taken by something that is not an fbfailover receiver, or the started
            receiver did not answer in time (its log file is named).
    """
    port = settings.receiver_port
    url = f"http://127.0.0.1:{port}"
    state = probe(port)
    if state == "ours":
        return url
    if state == "other":
        raise ConfigError(f"port {port} is taken by a program that is not an fbfailover receiver: stop it, or set "
                          f"FBFAILOVER_RECEIVER_PORT to a free port (and tunnel to that one)")
    pid_file, log_file = _files(environ)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ if environ is None else environ)
    if settings.env_file is not None:
        env.setdefault("FBFAILOVER_ENV_FILE", str(settings.env_file))
    # The receiver writes its lines to the log itself (bounded, rotated); stderr is kept for a crash's traceback.
    command = [sys.executable, "-m", "fbfailover", "receiver", "--port", str(port), "--log-file", str(log_file)]
    fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)  # phone numbers and texts: 0600
    os.chmod(log_file, 0o600)
    with open(fd, "ab") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                   env=env, start_new_session=True, close_fds=True)
    _started[process.pid] = process
    pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if probe(port, timeout=0.5) == "ours":
            return url
        time.sleep(0.1)
    raise ConfigError(f"the background receiver did not start on port {port}: see {log_file}")


def stop_shared_receiver(environ: Mapping[str, str] | None = None) -> str:
    """Stop the background receiver this project started (by its pid file); returns what was done."""
    pid_file, _ = _files(environ)
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return "no background receiver was started from this project"
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return f"the background receiver (pid {pid}) had already stopped"
    child = _started.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    pid_file.unlink(missing_ok=True)
    return f"stopped the background receiver (pid {pid})"
