"""The tutorial session: which API the notebooks talk to, and the objects every step shares.

``connect()`` reads the settings once and picks the mode:

- ``live``: credentials (``VONAGE_API_KEY`` and ``VONAGE_API_SECRET``), for Vonage's API or for the URL set
  explicitly in ``VONAGE_API_URL``/``VONAGE_REST_URL`` (a local mock, a recording proxy, a standalone sandbox:
  an explicit URL is always honoured, and ``describe()`` says what answers there);
- ``shared sandbox``: ``FBFAILOVER_SANDBOX_URL`` names a sandbox someone else runs (a workshop); without
  credentials, an account of this learner's own is requested with ``FBFAILOVER_WORKSHOP_TOKEN`` and saved
  in ``.env`` (see ``workshop.py``);
- ``sandbox``: otherwise — the project's offline sandbox, one background process that every kernel of the
  project shares (``fbfailover.sandbox.project``; started by the first kernel that needs it). Its webhooks wait
  in the sandbox's mailbox and each kernel pulls them with a cursor of its own, so every open notebook sees the
  same applications, dispatches and webhooks, and follows its own requests.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from fbfailover.client import VonageClient
from fbfailover.config import Settings, describe_api_url, load_settings, update_env_file

if TYPE_CHECKING:  # names for the seams only: the modules are imported when a mode needs them
    from fbfailover.sandbox.embedded import Sandbox, SandboxControl
    from fbfailover.sandbox.project import ProjectSandbox
    from fbfailover.tutorial.live import LiveControls
    from fbfailover.webhooks.source import EventSource
    from fbfailover.webhooks.stream import StreamSource

__all__ = ["Controls", "Tutorial", "connect", "sent_workflows"]

#: What a session controls its Vonage with: a sandbox's control API (embedded ``Sandbox``, the project's
#: ``ProjectSandbox`` or a shared ``SandboxControl``), or, live, ``LiveControls`` (no-ops that explain).
Controls = Union["SandboxControl", "LiveControls"]

LIVE, SHARED, SANDBOX = "live", "shared sandbox", "sandbox"
_stream: StreamSource | None = None  # one event stream per kernel (shared or project sandbox, live receiver)
_lock = threading.Lock()
#: The workflows this kernel sent, by API URL: an exercise judges these, not another notebook's.
_sent: dict[str, list[str]] = {}
_SENDS = ("/v0.1/dispatch", "/beta/workflows", "/v1/messages")


def sent_workflows(tut: Tutorial) -> list[str]:
    """The dispatch and workflow ids this kernel sent to ``tut``'s API, oldest first."""
    return list(_sent.get(tut.settings.api_url.rstrip("/"), []))


def _note_sent(response: Any, *_: Any, **__: Any) -> None:
    """A response hook: remember what this kernel's accepted sends created (their ids)."""
    request = response.request
    if request.method != "POST" or response.status_code != 202 or not request.path_url.rstrip("/").endswith(_SENDS):
        return
    try:
        answer = response.json()
    except ValueError:
        return
    if not isinstance(answer, dict):
        return
    ident = next((answer[k] for k in ("dispatch_uuid", "workflow_uuid", "workflow_id")
                  if answer.get(k)), None)
    if ident:
        base = response.url[: -len(request.path_url)] if response.url.endswith(request.path_url) else response.url
        with _lock:
            _sent.setdefault(base.rstrip("/"), []).append(str(ident))


@dataclass
class Tutorial:
    """What the notebooks share: the mode, the effective settings, a client, the sandbox and the receiver."""

    mode: str
    settings: Settings
    sandbox: Controls | None = None
    receiver: EventSource | None = None  # once started: a Receiver (pushed to), or a StreamSource (pulled from)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    _client: VonageClient | None = field(default=None, repr=False)

    @property
    def client(self) -> VonageClient:
        """A client for the current settings (rebuilt when the settings change).

        Its requests to the project's sandbox start that sandbox again when it is gone, and the ids of what it
        sends are remembered for this kernel (``sent_workflows``).
        """
        if self._client is None or self._client.settings is not self.settings:
            if self._client is not None:
                self._client.close()
            self._client = VonageClient(self.settings)
            self._client.session.hooks["response"].append(_note_sent)
            if hasattr(self.sandbox, "mount"):
                self.sandbox.mount(self._client.session)
        return self._client

    @property
    def offline(self) -> bool:
        """True when a sandbox (embedded or shared) plays the part of Vonage."""
        return self.mode != LIVE

    @property
    def env_file(self) -> Path:
        """The ``.env`` the tutorial reads and writes (created on first save)."""
        from fbfailover.tutorial.workshop import env_file_of

        return env_file_of(self.settings, self.environ)

    def save(self, **values: str | None) -> Path:
        """Write settings to ``.env`` (mode 0600) and reload them, keeping the sandbox's URL and account.

        Args:
            values: environment names and values, e.g. ``FB_SENDER_ID="..."``; None removes a name.
        """
        path = update_env_file(values, self.env_file, environ=self.environ)
        fresh = load_settings(self.environ, env_file=path)
        if self.offline:  # the sandbox's address and account are not kept in .env
            fresh = fresh.replace(api_key=self.settings.api_key, api_secret=self.settings.api_secret,
                                  signature_secret=self.settings.signature_secret,
                                  api_url=self.settings.api_url, rest_url=self.settings.rest_url)
        self.settings = fresh
        return path

    def start_receiver(self, port: int = 0) -> EventSource:
        """Start (or restart) what brings this account's webhooks, verifying signatures when the secret is known.

        - A shared sandbox (a workshop) cannot push to this kernel: the webhook URLs are its mailbox and this
          kernel pulls from it.
        - Live with ``FBFAILOVER_PUBLIC_URL`` (a tunnel): every kernel of the project shares one receiver on
          ``FBFAILOVER_RECEIVER_PORT`` (a background ``fbfailover receiver``, started when none runs), and this
          kernel pulls from its event log; the webhook URLs are the public URL's.
        - The project's sandbox (the offline default): the same, from the project's background sandbox. Every
          kernel of the project hands out the same URLs (the sandbox's mailbox) and pulls every webhook from its
          own position, so it does not matter which notebook configured them.
        - Otherwise (a sandbox given to ``connect(sandbox=...)``, a local mock): a receiver in this kernel gets
          them pushed.

        Either way the same checks apply (``fbfailover.webhooks.intake``) and the account's API key goes with them:
        a signed webhook of another account is refused. Called again, it keeps this kernel's stream (and what it
        received) when it is still the right one.
        """
        from fbfailover import webhooks
        from fbfailover.sandbox.project import ProjectSandbox

        settings = self.settings
        if self.mode == SHARED:
            return self._pull(settings.sandbox_url, mailbox_url=None, events_path=None)
        if isinstance(self.sandbox, ProjectSandbox):
            self.sandbox.restart()  # a stream waits for a sandbox that died; a call starts it again
            return self._pull(self.sandbox.url, mailbox_url=None, events_path=None, from_latest=True)
        if self.mode == LIVE and settings.public_url:
            from fbfailover.webhooks.eventlog import EVENTS_PATH
            from fbfailover.webhooks.shared import ensure_shared_receiver

            local = ensure_shared_receiver(settings, self.environ)
            return self._pull(local, mailbox_url=settings.public_url, events_path=EVENTS_PATH)
        self.receiver = webhooks.start(port, signature_secret=settings.signature_secret,
                                       public_url=settings.public_url, api_key=settings.api_key)
        return self.receiver

    def _pull(self, base_url: str, *, mailbox_url: str | None, events_path: str | None,
              from_latest: bool = False) -> StreamSource:
        """Pull this account's webhooks from ``base_url``'s event stream (one stream per kernel).

        Args:
            from_latest: start at the newest item and keep the cursor in memory (the project's sandbox); otherwise
                the cursor is kept per notebook in the data folder when Jupyter names the notebook
                (``JPY_SESSION_NAME``), in memory from the oldest item when it does not.
        """
        global _stream
        from fbfailover.config import data_dir
        from fbfailover.webhooks.stream import SANDBOX_EVENTS, StreamSource, cursor_file

        settings = self.settings
        events_url = base_url.rstrip("/") + (events_path or SANDBOX_EVENTS)
        notebook = self.environ.get("JPY_SESSION_NAME", "")
        cursor = (None if from_latest or not notebook else
                  cursor_file(data_dir(self.environ), base_url, settings.api_key, notebook))
        with _lock:
            hands_out = (mailbox_url or f"{base_url.rstrip('/')}/_sandbox/mailbox/{settings.api_key}").rstrip("/")
            same = (_stream is not None and _stream.running and _stream.events_url == events_url
                    and _stream.url == hands_out and _stream.api_key == settings.api_key
                    and _stream.signature_secret == settings.signature_secret)
            if not same:
                if _stream is not None:
                    _stream.stop()  # another sandbox or account: one stream per kernel
                _stream = StreamSource(base_url, settings.api_key, settings.api_secret,
                                       signature_secret=settings.signature_secret, mailbox_url=mailbox_url,
                                       events_path=events_path or SANDBOX_EVENTS, cursor_path=cursor,
                                       from_latest=from_latest)
            stream = _stream
        stream.wait_until_connected(10)
        self.receiver = stream
        return stream

    def send(self, method: str, path: str, body: Any, **options: Any) -> Any:
        """Check and send one request, then follow its webhooks; see ``fbfailover.tutorial.exchange``.

        Returns:
            An ``Exchange``: the request (token shortened), the raw answer and each webhook, in order.
        """
        from fbfailover.tutorial.exchange import send_request

        return send_request(self, method, path, body, **options)

    #: Live mode: workflows sent by ``send`` in this session (one goes without ``confirm=True``).
    live_sends: int = 0

    def describe(self) -> str:
        """One paragraph saying where requests go (no secrets, no ports in the wording)."""
        if self.mode == LIVE:
            api, rest = self.settings.api_url, self.settings.rest_url
            where = f"{api} ({describe_api_url(api)})"
            if describe_api_url(rest) != describe_api_url(api):
                where += f" and the account settings to {rest} ({describe_api_url(rest)})"
            return f"Mode: live — requests go to {where}, with your API key {self.settings.api_key}."
        scale = getattr(self.sandbox, "time_scale", None) or getattr(
            getattr(getattr(self.sandbox, "core", None), "settings", None), "time_scale", None)
        speed = f" ({scale:g} simulated seconds pass every real second)" if scale else ""
        if self.mode == SHARED:
            return (f"Mode: {self.mode} — the offline Vonage sandbox someone else runs, at {self.settings.api_url}, "
                    f"with your own account {self.settings.api_key}. Nothing reaches Vonage. In a workshop your "
                    "webhooks go to the room's sandbox, and this notebook listens to it.")
        from fbfailover.sandbox.project import ProjectSandbox

        where = ("the project's offline Vonage sandbox, one background process that every open notebook of this "
                 "project shares" if isinstance(self.sandbox, ProjectSandbox) else "an offline Vonage sandbox")
        return f"Mode: {self.mode} — {where}, at {self.settings.api_url}{speed}. Nothing leaves this machine."

    def __repr__(self) -> str:
        return f"Tutorial(mode={self.mode!r}, api_url={self.settings.api_url!r})"


def connect(environ: Mapping[str, str] | None = None, *,
            sandbox: Sandbox | ProjectSandbox | None = None) -> Tutorial:
    """Read the settings and return the tutorial session, starting the project's sandbox when needed.

    Args:
        environ: the environment to read (``os.environ`` by default).
        sandbox: a running sandbox handle to use instead of the project's (tests, custom clocks); its webhooks
            are pushed to a receiver in this kernel.

    Raises:
        ConfigError: a setting is malformed, or a shared sandbox is configured without an account.
        SandboxError: the project's sandbox could not be started (the reason names its log).
    """
    environ = os.environ if environ is None else environ
    settings = load_settings(environ)
    if settings.sandbox_url:
        from fbfailover.sandbox import SandboxControl
        from fbfailover.tutorial.workshop import join_shared_sandbox

        settings = join_shared_sandbox(settings, environ)
        control = SandboxControl(settings.sandbox_url, auth=(settings.api_key, settings.api_secret))
        return Tutorial(SHARED, settings, control, environ=environ)
    if settings.has_live_credentials:
        from fbfailover.tutorial.live import LiveControls

        return Tutorial(LIVE, settings, LiveControls(), environ=environ)
    if sandbox is None:
        from fbfailover.sandbox.project import ensure_project_sandbox

        sandbox = ensure_project_sandbox(environ)
    box = sandbox
    settings = settings.replace(api_key=box.api_key, api_secret=box.api_secret,
                                signature_secret=box.signature_secret, api_url=box.url, rest_url=box.url)
    return Tutorial(SANDBOX, settings, box, environ=environ)
