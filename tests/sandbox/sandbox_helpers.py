"""Helpers of the sandbox tests: the tutorial body, a webhook collector, application and JWT helpers."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import jwt
import requests

API_KEY, API_SECRET, SIGNATURE_SECRET = (
    "a1b2c3d4",
    "Secret0123456789",
    "sig-secret-for-tests-0123456789abcdef",
)
PSID, PAGE = "3951551948198164", "107083064136738"
SMS_TO, SMS_FROM = "447700900001", "447700900000"


def tutorial_body(expiry: int = 600, condition: str = "read") -> dict:
    """The tutorial's dispatch: Messenger, then SMS when not read within the expiry."""
    return {
        "template": "failover",
        "workflow": [
            {
                "from": {"type": "messenger", "id": PAGE},
                "to": {"type": "messenger", "id": PSID},
                "message": {"content": {"type": "text", "text": "Hi via Messenger"}},
                "failover": {"expiry_time": expiry, "condition_status": condition},
            },
            {
                "from": {"type": "sms", "number": SMS_FROM},
                "to": {"type": "sms", "number": SMS_TO},
                "message": {"content": {"type": "text", "text": "Hi via SMS"}},
            },
        ],
    }


@dataclass
class Hit:
    path: str
    headers: dict
    body: bytes

    def json(self) -> dict:
        import json

        return json.loads(self.body)


@dataclass
class Collector:
    """A tiny webhook receiver: records every POST and answers ``codes[path]`` (default 200)."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def record(self, hit: Hit) -> int:
        with self.cond:
            self.hits.append(hit)
            self.cond.notify_all()
        return self.codes.get(hit.path, 200)

    def wait(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[Hit]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                hits = [h for h in self.hits if path is None or h.path == path]
                if len(hits) >= count or time.monotonic() >= deadline:
                    return hits
                self.cond.wait(max(0.0, deadline - time.monotonic()))

    def bodies(self, path: str = "/status") -> list[dict]:
        with self.cond:
            return [h.json() for h in self.hits if h.path == path]

    def clear(self) -> None:
        with self.cond:
            self.hits.clear()


def basic(box) -> tuple[str, str]:
    return (box.api_key, box.api_secret)


def create_app(box, public_key: str | None = None, base: str | None = None, name: str = "tutorial") -> dict:
    """Create an application (messages webhooks to ``base``); returns the 201 body."""
    body: dict = {"name": name}
    if base:
        body["capabilities"] = {
            "messages": {
                "webhooks": {
                    "inbound_url": {"address": f"{base}/inbound", "http_method": "POST"},
                    "status_url": {"address": f"{base}/status", "http_method": "POST"},
                }
            }
        }
    if public_key:
        body["keys"] = {"public_key": public_key}
    response = requests.post(f"{box.url}/v2/applications", json=body, auth=basic(box), timeout=10)
    assert response.status_code == 201, response.text
    return response.json()


def mint(
    application_id: str,
    private_key: str,
    *,
    drop: tuple = (),
    algorithm: str = "RS256",
    headers: dict | None = None,
    **claims,
) -> str:
    """An application JWT; ``drop`` removes default claims, ``claims`` adds or overrides."""
    now = int(time.time())
    payload = {"application_id": application_id, "iat": now, "jti": str(uuid.uuid4()), "exp": now + 900}
    payload.update(claims)
    for name in drop:
        payload.pop(name, None)
    return jwt.encode(payload, private_key, algorithm=algorithm, headers=headers)


def post_dispatch(box, token: str, body: dict | None = None, path: str = "/v0.1/dispatch") -> requests.Response:
    return requests.post(
        f"{box.url}{path}",
        json=tutorial_body() if body is None else body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


class CountingServer:
    """An HTTP/1.1 keep-alive server on its own thread that counts TCP connections and requests.

    It answers every request 200 at once, or, once ``hang()`` was called, reads requests and never answers
    (a receiver stuck in a breakpoint). ``release()`` closes every connection. Use it as a context manager.
    """

    def __init__(self) -> None:
        import asyncio

        self.connections = 0  # accepted so far
        self.open = 0  # open now
        self.requests = 0  # answered
        self.waiting = 0  # read and left unanswered (hanging)
        self.hanging = False
        self._cond = threading.Condition()
        self._transports: set = set()
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self, ready: threading.Event) -> None:
        import asyncio

        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(self._loop.create_server(lambda: _Counting(self), "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self._loop.run_forever()
        server.close()
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    def _change(self, **delta: int) -> None:
        with self._cond:
            for name, step in delta.items():
                setattr(self, name, getattr(self, name) + step)
            self._cond.notify_all()

    def wait_until(self, predicate, timeout: float = 20.0) -> bool:
        """Wait until ``predicate(self)`` holds (True) or ``timeout`` passes (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def hang(self) -> None:
        self.hanging = True

    def release(self) -> None:
        """Close every connection (the sandbox's attempts on them fail and are retried)."""
        self._loop.call_soon_threadsafe(lambda: [t.close() for t in list(self._transports)])
        self.wait_until(lambda s: s.open == 0)

    def __enter__(self) -> CountingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class _Counting:
    """The protocol of ``CountingServer``: requests with a Content-Length body, answered 200 (or not at all)."""

    def __init__(self, server: CountingServer):
        self.server = server
        self.buffer = b""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server._transports.add(transport)
        self.server._change(connections=1, open=1)

    def connection_lost(self, exc) -> None:
        self.server._transports.discard(self.transport)
        self.server._change(open=-1)

    def eof_received(self) -> bool:
        return False

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            if self.server.hanging:
                self.server._change(waiting=1)
            else:
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                self.server._change(requests=1)
