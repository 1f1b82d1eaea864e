"""The pull transport: this process connects *out* and pulls its account's webhooks, like ``stripe listen``.

A shared sandbox (a workshop on Binder, JupyterHub or laptops) cannot open connections to the attendees'
kernels, and the project's own sandbox serves every open notebook of the project at once, so their webhooks wait
in the sandbox's mailbox for the account and ``StreamSource`` fetches them:
``GET <base>/_sandbox/events?after=<cursor>&wait=<seconds>`` with the account's Basic credentials, long-polling.
Each item carries exactly what a pushed webhook carries (path, headers with the signed ``Authorization``, the
exact body), so it goes through the same ``Intake`` (signature check) and ``EventStore`` (dedupe, bounds) as a
push to the local receiver.

Each kernel has a cursor of its own: two kernels never share one, since each must see every webhook. In a
workshop it is kept in a small file in the data folder per notebook (``cursor_file``), so that the kernel of a
notebook that restarts goes on from where it stopped: nothing is lost, nothing is shown twice. With it goes the
server's name for its log (``epoch``): a cursor from another log (a sandbox started over on a new database, a
receiver process that restarted) is dropped and the new log read from its beginning. A kernel of the project's
own sandbox keeps its cursor in memory and starts at the newest item (``from_latest``): it follows what it sends
from now on, and what other notebooks of the project sent before is theirs. A dropped connection or a restarting
sandbox is retried with a short back-off, for as long as the source runs; the cursor is kept across it.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl

import requests

from fbfailover.eventstream import MAX_WAIT, RETRY_AFTER, SANDBOX_PATH, decode_body, sealed
from fbfailover.webhooks.intake import Intake
from fbfailover.webhooks.signature import DEFAULT_MAX_AGE
from fbfailover.webhooks.source import EventSource
from fbfailover.webhooks.store import DEFAULT_MAX_EVENTS, EventStore

__all__ = ["SANDBOX_EVENTS", "StreamSource", "cursor_file"]

SANDBOX_EVENTS = SANDBOX_PATH
_BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)


def cursor_file(folder: str | os.PathLike[str], base_url: str, api_key: str, notebook: str = "") -> Path:
    """Where the cursor of one account's stream from one server, read by one notebook, is kept in ``folder``.

    Args:
        notebook: the notebook whose kernel reads the stream (Jupyter gives a kernel its path as
            ``JPY_SESSION_NAME``): each notebook has a cursor of its own.
    """
    digest = hashlib.sha256(f"{base_url.rstrip('/')} {api_key} {notebook}".encode()).hexdigest()[:16]
    return Path(folder) / f"stream-{digest}.cursor"


class StreamSource(EventSource):
    """Webhooks pulled from a server's event stream into this process's store.

    Args:
        base_url: the server, e.g. the shared sandbox's ``FBFAILOVER_SANDBOX_URL``.
        api_key, api_secret: the account whose events are read (and whose signed webhooks are accepted).
        signature_secret: the account's signature secret; None accepts unsigned items (and says so).
        mailbox_url: the base of the webhook URLs to hand out (default: the sandbox's mailbox of the account).
        events_path: the stream's path on ``base_url``.
        cursor_path: the file the cursor is kept in; None keeps it in memory only.
        from_latest: without a saved cursor, start at the server's newest item (``after=latest``) instead of its
            oldest: only what comes next is read.
        wait: real seconds each long-poll may wait for a first item.
        max_age: the oldest ``iat`` accepted, in real seconds.
        max_events: events kept in memory.
    """

    def __init__(self, base_url: str, api_key: str, api_secret: str, *, signature_secret: str | None = None,
                 mailbox_url: str | None = None, events_path: str = SANDBOX_EVENTS,
                 cursor_path: str | os.PathLike[str] | None = None, from_latest: bool = False,
                 wait: float = 10.0, max_age: float = DEFAULT_MAX_AGE, max_events: int = DEFAULT_MAX_EVENTS):
        base = base_url.rstrip("/")
        intake = Intake(EventStore(max_events), signature_secret or None, max_age, api_key=api_key)
        self.events_url = base + events_path
        #: A sandbox seals every item with the account's signature secret: with the secret, take only sealed ones.
        self._seal_key = signature_secret if events_path == SANDBOX_PATH and signature_secret else None
        self.cursor_path = Path(cursor_path) if cursor_path is not None else None
        self.epoch, self.cursor = self._load_cursor()
        self._positioned = not (from_latest and not self.epoch)  # False until the server said where "latest" is
        self.connected = False
        self._answered = threading.Event()  # set once the first page was taken (the cursor is in place)
        self.missed = 0
        self.problem: str | None = None  # why the stream is not flowing, when it is not
        self._auth = (api_key, api_secret)
        self._wait = min(max(wait, 0.0), MAX_WAIT)  # the protocol refuses a longer wait
        self._halt = threading.Event()
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="fbfailover-stream", daemon=True)
        super().__init__(mailbox_url or f"{base}/_sandbox/mailbox/{api_key}", intake,
                         running=self._thread.is_alive, stop=self._halt_thread)
        self._thread.start()

    # -- the cursor -------------------------------------------------------------------------------------
    def _load_cursor(self) -> tuple[str, int]:
        """``(epoch, cursor)`` from the cursor file: the server's name for its log, and the last id taken."""
        if self.cursor_path is None:
            return "", 0
        try:
            epoch, _, cursor = self.cursor_path.read_text().strip().rpartition(" ")
            return epoch, int(cursor or 0)
        except (OSError, ValueError):
            return "", 0

    def _save_cursor(self) -> None:
        if self.cursor_path is None:
            return
        try:
            self.cursor_path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.cursor_path.with_suffix(".partial")
            partial.write_text(f"{self.epoch} {self.cursor}".strip())
            os.replace(partial, self.cursor_path)
        except OSError as exc:
            self.problem = f"cannot keep the stream's cursor in {self.cursor_path}: {exc}"

    # -- pulling ----------------------------------------------------------------------------------------
    def _run(self) -> None:
        failures = 0
        while not self._halt.is_set():
            wait = self._wait if self.connected else 0  # the first answer at once: "connected" means something
            after = self.cursor if self._positioned else "latest"
            try:
                response = self._session.get(self.events_url, params={"after": after, "wait": wait},
                                             auth=self._auth, timeout=self._wait + 15)
            except requests.RequestException as exc:
                self._down(f"cannot reach {self.events_url} ({type(exc).__name__}); retrying")
                failures += 1
                self._halt.wait(_BACKOFF[min(failures, len(_BACKOFF)) - 1])
                continue
            if response.status_code != 200:
                self._down(f"{self.events_url} answered {response.status_code}: {_detail(response)}")
                failures += 1
                self._halt.wait(_retry_after(response) if response.status_code == 429 else
                                _BACKOFF[-1] if response.status_code in (401, 403, 404) else
                                _BACKOFF[min(failures, len(_BACKOFF)) - 1])
                continue
            failures = 0
            self.connected, self.problem = True, None
            try:
                page = response.json()
            except ValueError:
                self._down(f"{self.events_url} answered something that is not JSON")
                continue
            self._take(page)
            self._answered.set()

    def _take(self, page: dict) -> None:
        epoch = str(page.get("epoch") or "")
        if not self._positioned:  # the answer to after=latest: start from its cursor
            self.epoch, self.cursor, self._positioned = epoch, int(page.get("cursor") or 0), True
            self._save_cursor()
            return
        if epoch != self.epoch:
            if self.cursor and self.epoch:  # another log than the cursor's (the server started over): from its start
                self.intake.notice("the server's event log started over; reading it from its beginning")
                self.epoch, self.cursor, self.missed = epoch, 0, 0
                self._save_cursor()
                return  # the next request asks from 0
            self.epoch = epoch
        missed = int(page.get("missed") or 0)
        if missed > self.missed:
            self.intake.notice(f"the server dropped {missed} events before this notebook could read them "
                               "(its mailbox keeps the latest 10,000 per account)")
            self.missed = missed
        for item in page.get("events") or []:
            route = item.get("path", "/webhooks/status")
            if self._seal_key is not None and not sealed(self._seal_key, epoch, item):
                self.intake.store.reject(route, "not sealed by the sandbox with this account's signature secret", 403)
            else:
                query = dict(parse_qsl(item.get("query") or "", keep_blank_values=True))
                # Its signature is checked as of when the server kept it: a kernel back after an absence still
                # takes what waited for it.
                self.intake.receive(route, decode_body(item), item.get("headers") or {}, query=query,
                                    received_at=item.get("received"))
            self.cursor = max(self.cursor, int(item["id"]))
        if page.get("events") or (self.cursor_path is not None and not self.cursor_path.exists()):
            self._save_cursor()

    def _down(self, why: str) -> None:
        self.connected, self.problem = False, why

    def _halt_thread(self) -> None:
        self._halt.set()
        self._session.close()  # ends a long-poll in progress
        if self._thread is not threading.current_thread():
            self._thread.join(2)  # a long-poll in progress may outlive this: the thread then ends on its own

    def wait_until_connected(self, timeout: float = 10.0) -> bool:
        """Block until the first answer of the stream arrived (or ``timeout`` real seconds passed)."""
        deadline = time.monotonic() + timeout
        while self.running and not self._answered.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                break
        return self.connected

    def __repr__(self) -> str:
        state = "connected" if self.connected else (self.problem or "connecting")
        return f"StreamSource({self.events_url!r}, {state}, signatures {self.signatures}, cursor {self.cursor})"


def _retry_after(response: requests.Response) -> float:
    """The seconds a 429 asks to wait (``Retry-After``), within 0.5..30."""
    try:
        return min(max(float(response.headers.get("Retry-After", RETRY_AFTER)), 0.5), 30.0)
    except ValueError:
        return float(RETRY_AFTER)


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("detail") or body.get("title") or body)[:200]
