"""Shared fixtures: settings kept away from the project's .env, one RSA key, a recording API server."""

from __future__ import annotations

import asyncio
import json
import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from fbfailover.config import is_setting
from fbfailover.keys import generate_private_key, public_pem, save_private_key


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Clear every fbfailover setting from the environment and point .env and data at a fresh folder."""
    for name in list(os.environ):
        if is_setting(name):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("settings")
    monkeypatch.setenv("FBFAILOVER_ENV_FILE", str(home / ".env"))
    monkeypatch.setenv("FBFAILOVER_DATA_DIR", str(home / "data"))
    yield home
    # A test (or a notebook kernel it ran) that connected in sandbox mode started the project's sandbox process
    # in this folder: end it with the test rather than two idle minutes later.
    from fbfailover.sandbox import instance

    if (home / "data" / "sandbox.json").exists():
        instance.stop_project_sandbox({"FBFAILOVER_DATA_DIR": str(home / "data")})
    for pid, process in list(instance.started.items()):  # started by this process for another data folder
        process.terminate()
        process.wait(10)
        instance.started.pop(pid, None)


@pytest.fixture(scope="session")
def rsa_key():
    """An RSA-2048 private key, generated once per test session."""
    return generate_private_key()


@pytest.fixture(scope="session")
def public_key(rsa_key) -> str:
    """The PEM public half of ``rsa_key``."""
    return public_pem(rsa_key)


@pytest.fixture
def key_file(rsa_key, tmp_path: Path) -> Path:
    """``rsa_key`` saved to a 0600 file in the test's temporary folder."""
    return save_private_key(rsa_key, tmp_path / "private.key")


@pytest.fixture(scope="session")
def _recording_server():
    import tornado.web

    from fbfailover.background import serve

    class Recorder(tornado.web.RequestHandler):
        """Records each request; answers with the next scripted reply (default 202 ``{"ok": true}``)."""

        def initialize(self, seen: list, script: deque) -> None:
            self.seen, self.script = seen, script

        async def _any(self, *_: str) -> None:
            self.seen.append({"method": self.request.method, "path": self.request.path,
                              "query": {k: v[0] for k, v in parse_qs(self.request.query).items()},
                              "headers": dict(self.request.headers), "body": self.request.body})
            default = (202, {}, {"ok": True}, 0)
            status, headers, body, delay = self.script.popleft() if self.script else default
            if delay:
                await asyncio.sleep(delay)
            self.set_status(status)
            for k, v in headers.items():
                self.set_header(k, v)
            if isinstance(body, (dict, list)):
                self.set_header("Content-Type", "application/json")
                body = json.dumps(body)
            if body is not None:
                self.write(body)

        get = post = put = delete = _any

    seen: list = []
    script: deque = deque()
    app = tornado.web.Application([(r"/.*", Recorder, {"seen": seen, "script": script})],
                                  log_function=lambda handler: None)
    server = serve(app)
    server.seen, server.script = seen, script
    yield server
    server.stop()


@pytest.fixture
def api_server(_recording_server):
    """A real HTTP server on 127.0.0.1: ``.url``, ``.seen`` (requests received), ``.script`` (replies).

    Append ``(status, headers, body, delay)`` to ``.script``; a dict body is sent as JSON.
    """
    _recording_server.seen.clear()
    _recording_server.script.clear()
    return _recording_server


@pytest.fixture(scope="session")
def shop() -> Iterator[str]:
    """The base URL of someone's running webhook server on this machine: every GET answers 200, as the account API's
    URL check wants (account-level URLs are saved only when they answer)."""
    import tornado.web

    from fbfailover.background import serve

    class Up(tornado.web.RequestHandler):
        def get(self, path: str) -> None:
            self.finish()

    server = serve(tornado.web.Application([(r"/(.*)", Up)], log_function=lambda handler: None))
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def box():
    """An embedded sandbox for a test module, in memory; a 600 s expiry takes 50 ms."""
    from fbfailover import sandbox

    handle = sandbox.start(db=":memory:", time_scale=12_000)
    yield handle
    handle.stop()


@pytest.fixture
def room():
    """An embedded sandbox in workshop mode with a manual clock (``tests.sandbox.test_workshop.start_workshop``)."""
    from tests.sandbox.test_workshop import start_workshop

    box = start_workshop()
    try:
        yield box
    finally:
        box.stop()
