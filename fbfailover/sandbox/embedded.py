"""The sandbox inside a Python process (a notebook kernel): ``start()`` and the control client.

``start()`` serves the sandbox ``server.assemble()`` puts together (as ``fbfailover sandbox`` does) from a
background thread with its own loop and returns a ``Sandbox`` handle.
``SandboxControl(url)`` drives the ``/_sandbox/`` endpoints over HTTP, so the same calls work against a
standalone sandbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from fbfailover.errors import SandboxError

from .storage import default_db

if TYPE_CHECKING:
    from .core import Core

__all__ = ["Sandbox", "SandboxControl", "default_db", "start"]


class SandboxControl:
    """Client of the control API of a sandbox at ``url`` (embedded or standalone)."""

    def __init__(self, url: str, *, auth: tuple[str, str] | None = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        if auth is not None:
            self._session.auth = auth

    def _call(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        """One control call; raises ``SandboxError`` with the sandbox's reasons, or when it cannot be reached."""
        try:
            response = self._session.request(
                method, f"{self.url}/_sandbox/{path}", json=body, params=params, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise SandboxError(
                f"could not reach the sandbox at {self.url} ({type(exc).__name__}) — is it running? "
                "Start it with `fbfailover sandbox`"
            ) from exc
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"detail": response.text}
            reasons = "; ".join(f"{p['name']}: {p['reason']}" for p in problem.get("invalid_parameters", []))
            raise SandboxError(
                f"{response.status_code} {problem.get('title', '')}: {reasons or problem.get('detail', '')}"
            )
        return response.json() if response.content else None

    def info(self) -> dict:
        return self._call("GET", "")

    def set_recipient(
        self,
        channel: str,
        id_or_number: str,
        outcome: str,
        after: float | None = None,
        error_code: int | None = None,
    ) -> dict:
        """Decide how a recipient behaves: ``read``, ``delivered``, ``rejected`` or ``undeliverable``.

        Args:
            channel: ``messenger``, ``sms``, ...; id_or_number: the PSID or phone number (``*`` for all).
            after: simulated seconds from submission to the outcome; error_code: for rejected/undeliverable.
        """
        body = {"outcome": outcome, "after": after, "error_code": error_code}
        return self._call("PUT", f"recipients/{channel}/{requests.utils.quote(id_or_number, safe='')}", body)

    def reset_recipients(self) -> int:
        """Forget every recipient rule; returns how many there were."""
        return self._call("DELETE", "recipients")["removed"]

    def inbound(
        self,
        channel: str,
        from_: str | None = None,
        to: str | None = None,
        text: str = "Hello",
        application_id: str | None = None,
    ) -> dict:
        """A user writes to a page (Messenger) or number (SMS); ids are generated when not given.

        Returns:
            ``message_uuid``, ``from``/``to`` (their ids: FB_RECIPIENT_ID / FB_SENDER_ID), ``delivered_to``.
        """
        body = {"channel": channel, "from": from_, "to": to, "text": text, "application_id": application_id}
        return self._call("POST", "inbound", {k: v for k, v in body.items() if v is not None})

    def advance(self, seconds: float) -> dict:
        """Move simulated time forward (any clock mode); returns the clock and how many timers fired."""
        return self._call("POST", "clock/advance", {"seconds": seconds})

    def clock(self) -> dict:
        return self._call("GET", "clock")

    def dispatch(self, uuid: str) -> dict:
        """The timeline of one dispatch or v1 failover workflow."""
        return self._call("GET", f"dispatches/{uuid}")

    def message(self, uuid: str) -> dict:
        return self._call("GET", f"messages/{uuid}")

    def deliveries(self, dispatch_uuid: str | None = None, status: str | None = None) -> list[dict]:
        """Webhook deliveries, oldest first, each with its attempts and outcome."""
        params = {k: v for k, v in {"dispatch_uuid": dispatch_uuid, "status": status}.items() if v}
        return self._call("GET", "deliveries", params=params)["deliveries"]

    def close(self) -> None:
        self._session.close()


class Sandbox(SandboxControl):
    """A running embedded sandbox: ``url``, credentials, the control calls, ``stop()``; a context manager."""

    def __init__(self, server: Any, core: Core):
        super().__init__(server.url)
        self._server = server
        self.core = core
        account = core.account
        self.api_key: str = account.api_key
        self.api_secret: str = account.api_secret
        self.signature_secret: str = account.signature_secret
        self.db: str = core.db.path

    @property
    def port(self) -> int:
        return self._server.port

    def _call(self, method: str, path: str, body: Any = None, params: dict | None = None) -> Any:
        """A control call; a sandbox that was stopped says so (it is not a server to start again)."""
        if not self._server.running:
            raise SandboxError(f"the sandbox at {self.url} was stopped (its stop() ran, or the cell that started it "
                               "ran again): use the one that replaced it")
        return super()._call(method, path, body, params)

    @property
    def running(self) -> bool:
        return self._server.running

    def stop(self) -> None:
        """Stop serving and flush the state to disk; safe to call twice."""
        self.close()
        self._server.stop()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Sandbox {self.url} api_key={self.api_key} db={self.db}>"


def start(
    *,
    db: str | Path | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    time_scale: float = 600.0,
    clock: str = "real",
    api_key: str | None = None,
    api_secret: str | None = None,
    signature_secret: str | None = None,
) -> Sandbox:
    """Run the sandbox in a background thread and return its handle.

    Args:
        db: SQLite file; ``None`` for the project's default (``default_db()``), ``":memory:"`` for none.
        time_scale: simulated seconds per real second; clock: ``"real"`` (scaled) or ``"manual"``.
        api_key, api_secret, signature_secret: fixed credentials instead of the stored or generated ones.
    Raises:
        ValueError: for a bad clock or time scale. OSError: when the port is taken.
        StorageError: the database cannot be used (read-only, full disk, locked, not SQLite).
    """
    from fbfailover.background import serve

    from .core import SandboxSettings
    from .http import SERVER_LIMITS
    from .server import assemble

    settings = SandboxSettings(
        time_scale=time_scale,
        clock=clock,
        api_key=api_key,
        api_secret=api_secret,
        signature_secret=signature_secret,
    )
    core, app = assemble(default_db() if db is None else db, settings)
    server = serve(
        app,
        host,
        port,
        on_start=core.start,
        on_stop=core.stop,
        **SERVER_LIMITS,
        name="fbfailover-sandbox",
    )
    return Sandbox(server, core)

