"""The tutorial session: which API the notebooks talk to, and the objects every step shares.

``connect()`` reads the settings once and picks the mode:

- ``live``: real credentials (``VONAGE_API_KEY`` and ``VONAGE_API_SECRET``) and a real API URL;
- ``shared sandbox``: ``FBFAILOVER_SANDBOX_URL`` names a sandbox someone else runs (a workshop); without
  credentials, an account of this learner's own is requested with ``FBFAILOVER_WORKSHOP_TOKEN`` and saved
  in ``.env`` (see ``workshop.py``);
- ``sandbox``: otherwise — the offline sandbox is started inside this kernel, on the project's database, so
  consecutive notebooks share the application they created.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fbfailover.client import VonageClient
from fbfailover.config import Settings, load_settings, update_env_file

__all__ = ["Tutorial", "connect"]

LIVE, SHARED, SANDBOX = "live", "shared sandbox", "sandbox"
_embedded: Any = None  # one embedded sandbox per kernel, reused when a cell runs again
_stream: Any = None  # one stream from a shared sandbox per kernel
_lock = threading.Lock()


@dataclass
class Tutorial:
    """What the notebooks share: the mode, the effective settings, a client, the sandbox and the receiver."""

    mode: str
    settings: Settings
    sandbox: Any = None  # fbfailover.sandbox.Sandbox / SandboxControl, or None when live
    receiver: Any = None  # an fbfailover.webhooks EventSource once started: Receiver, or StreamSource (workshop)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ, repr=False)
    _client: VonageClient | None = field(default=None, repr=False)

    @property
    def client(self) -> VonageClient:
        """A client for the current settings (rebuilt when the settings change)."""
        if self._client is None or self._client.settings is not self.settings:
            if self._client is not None:
                self._client.close()
            self._client = VonageClient(self.settings)
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

    def start_receiver(self, port: int = 0) -> Any:
        """Start (or restart) what brings this account's webhooks, verifying signatures when the secret is known.

        With a shared sandbox (a workshop) it cannot push to this kernel, so the webhook URLs are its mailbox and
        this kernel pulls from it (``StreamSource``); otherwise a receiver in this kernel gets them pushed. Either
        way the account's API key goes with it: a signed webhook of another account is refused.
        """
        from fbfailover import webhooks

        if self.mode == SHARED:
            return self._start_stream()
        public_url = self.settings.public_url
        self.receiver = webhooks.start(port, signature_secret=self.settings.signature_secret,
                                       public_url=public_url, api_key=self.settings.api_key)
        return self.receiver

    def _start_stream(self) -> Any:
        global _stream
        from fbfailover.config import data_dir
        from fbfailover.webhooks.stream import StreamSource, cursor_file

        settings = self.settings
        with _lock:
            if _stream is not None:
                _stream.stop()  # a cell run again: one stream per kernel
            _stream = StreamSource(settings.sandbox_url, settings.api_key, settings.api_secret,
                                   signature_secret=settings.signature_secret,
                                   cursor_path=cursor_file(data_dir(self.environ), settings.sandbox_url,
                                                           settings.api_key))
        _stream.wait_until_connected(10)
        self.receiver = _stream
        return _stream

    def send(self, method: str, path: str, body: Any, **options: Any) -> Any:
        """Check and send one request, then follow its webhooks; see ``fbfailover.tutorial.exchange``.

        Returns:
            An ``Exchange``: the request (token shortened), the raw answer and each webhook, in order.
        """
        from fbfailover.tutorial.exchange import send_request

        return send_request(self, method, path, body, **options)

    def describe(self) -> str:
        """One paragraph saying where requests go (no secrets, no ports in the wording)."""
        if self.mode == LIVE:
            return (f"Mode: live — requests go to {self.settings.api_url} with your API key "
                    f"{self.settings.api_key}. Real messages are sent and may cost money.")
        scale = getattr(getattr(self.sandbox, "core", None), "settings", None)
        speed = f" ({scale.time_scale:g} simulated seconds pass every real second)" if scale else ""
        if self.mode == SHARED:
            return (f"Mode: {self.mode} — the offline Vonage sandbox someone else runs, at {self.settings.api_url}, "
                    f"with your own account {self.settings.api_key}. Nothing reaches Vonage. In a workshop your "
                    "webhooks go to the room's sandbox, and this notebook listens to it.")
        return (f"Mode: {self.mode} — the offline Vonage sandbox, started inside this kernel, at "
                f"{self.settings.api_url}{speed}. Nothing leaves this machine.")

    def __repr__(self) -> str:
        return f"Tutorial(mode={self.mode!r}, api_url={self.settings.api_url!r})"


def _embedded_sandbox() -> Any:
    global _embedded
    from fbfailover import sandbox

    with _lock:
        if _embedded is None or not _embedded.running:
            _embedded = sandbox.start()
        return _embedded


def connect(environ: Mapping[str, str] | None = None, *, sandbox: Any = None) -> Tutorial:
    """Read the settings and return the tutorial session, starting the embedded sandbox when needed.

    Args:
        environ: the environment to read (``os.environ`` by default).
        sandbox: a running sandbox handle to use instead of this kernel's own (tests, custom clocks).

    Raises:
        ConfigError: a setting is malformed, or a shared sandbox is configured without an account.
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
        return Tutorial(LIVE, settings, environ=environ)
    box = sandbox if sandbox is not None else _embedded_sandbox()
    settings = settings.replace(api_key=box.api_key, api_secret=box.api_secret,
                                signature_secret=box.signature_secret, api_url=box.url, rest_url=box.url)
    return Tutorial(SANDBOX, settings, box, environ=environ)
