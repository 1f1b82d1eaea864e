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
