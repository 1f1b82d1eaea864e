"""A retry after a receiver outage carries a fresh signature that the verifying receiver accepts.

Vonage's signed-webhooks page answers an unsigned callback with "a retry will be triggered giving the system time
to ... sign future callbacks": each attempt is signed when it is sent. The sandbox does the same (``sign`` in
``Webhooks._attempt``), so a receiver that refuses an ``iat`` older than 300 s still takes a webhook retried after a
ten-minute outage, while the first attempt's token, replayed then, is refused as stale. The ten minutes of real
time are played by one clock both sides read (the sandbox's signer and the receiver's freshness check)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import types
import uuid
import warnings

import jwt
import pytest
import requests
import tornado.web

from fbfailover.background import serve
from fbfailover.sandbox import webhook_delivery as sandbox_webhooks
from fbfailover.webhooks import Receiver
from fbfailover.webhooks import signature as receiver_signature
from tests.sandbox.sandbox_helpers import API_KEY, SIGNATURE_SECRET, create_app, mint, post_dispatch

OUTAGE = 600.0  # real seconds the receiver is unreachable: twice the 300 s an iat may be old


class _Tunnel(tornado.web.RequestHandler):
    """The public URL in front of the receiver: 503 while the receiver is down (as a tunnel answers), else passed on."""

    def initialize(self, state: dict) -> None:
        self.state = state

    def post(self, path: str) -> None:
        headers = {k: self.request.headers[k] for k in ("Authorization", "Content-Type") if k in self.request.headers}
        with self.state["lock"]:
            self.state["attempts"].append((headers.get("Authorization", ""), self.request.body))
        if self.state["down"]:
            self.set_status(503)
        else:
            answer = requests.post(self.state["receiver"] + "/" + path, data=self.request.body, headers=headers,
                                   timeout=10)
            self.set_status(answer.status_code)
        self.finish()


@pytest.fixture
def shared_clock(monkeypatch):
    """Real time plus an offset, read by the sandbox's signer and the receiver alike."""
    offset = [0.0]
    clock = types.SimpleNamespace(time=lambda: time.time() + offset[0])
    monkeypatch.setattr(sandbox_webhooks, "time", clock)
    monkeypatch.setattr(receiver_signature, "time", clock)
    return offset


def test_a_retry_after_a_long_outage_is_signed_afresh_and_accepted(sandbox, key_pair, shared_clock):
    receiver = Receiver(signature_secret=SIGNATURE_SECRET, api_key=API_KEY)
    state = {"down": True, "attempts": [], "lock": threading.Lock(), "receiver": receiver.local_url}
    tunnel = serve(tornado.web.Application([(r"/(.*)", _Tunnel, {"state": state})], log_function=lambda h: None))
    try:
        app = create_app(sandbox, key_pair[1], tunnel.url + "/webhooks")
        post_dispatch(sandbox, mint(app["id"], key_pair[0]))
        sandbox.advance(700)  # every webhook of the dispatch had its first attempt: all answered 503
        with state["lock"]:
            first = list(state["attempts"])
        assert first and receiver.events() == []
        shared_clock[0] += OUTAGE  # ten minutes pass before the receiver is back
        state["down"] = False
        sandbox.advance(900)  # the retries come
        delivered = sandbox.deliveries()
        assert delivered and all(d["status"] == "delivered" for d in delivered)
        events = receiver.events()
        assert len(events) == len(delivered) and all(e.verified for e in events)
        signed_first = {_key(json.loads(body)): jwt.decode(auth.split()[1], options={"verify_signature": False})
                        for auth, body in first}
        for event in events:  # each retry was signed when it was sent: a new token, ten minutes younger
            before = signed_first[_key(event.body)]
            assert event.claims["iat"] >= before["iat"] + OUTAGE and event.claims["jti"] != before["jti"]
        # a retry that had kept its first signature would have been refused live, as this replay is
        auth, body = first[0]
        replay = requests.post(receiver.status_url, data=body, timeout=10,
                               headers={"Authorization": auth, "Content-Type": "application/json"})
        assert replay.status_code == 401 and "stale iat" in replay.json()["detail"]
    finally:
        tunnel.stop()
        receiver.stop()


def test_a_non_ascii_api_key_is_signed_as_the_same_claims():
    """orjson writes a non-ASCII claim as UTF-8 where PyJWT writes ``\\u`` escapes: a receiver reads the same claims."""
    account = types.SimpleNamespace(api_key="clé", signature_secret="a secret long enough for HS256 keys!")
    body = b'{"status":"delivered"}'
    token = sandbox_webhooks.sign(body, account, None)
    claims = jwt.decode(token, account.signature_secret, algorithms=["HS256"])
    assert claims["api_key"] == "clé" and claims["payload_hash"] == hashlib.sha256(body).hexdigest()
    assert receiver_signature.verify_signed_webhook(f"Bearer {token}", body, account.signature_secret,
                                                    now=claims["iat"]) == claims


def _key(body: dict) -> str:
    return json.dumps(body, sort_keys=True)


@pytest.mark.parametrize("application_id", [None, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"])
@pytest.mark.parametrize("secret", ["a short secret", "Ünïcode sécret " * 4])
def test_the_standard_library_signer_writes_the_bytes_pyjwt_writes(monkeypatch, application_id, secret):
    """``sign`` builds the HS256 token with hmac/base64/orjson: byte for byte what ``jwt.encode`` makes of the same
    claims, and PyJWT (as any receiver) verifies it, with every claim as signed."""
    fixed = uuid.UUID("12345678-1234-4234-9234-123456789abc")
    monkeypatch.setattr(sandbox_webhooks.uuid, "uuid4", lambda: fixed)
    monkeypatch.setattr(sandbox_webhooks, "time", types.SimpleNamespace(time=lambda: 1_765_000_000.75))
    account = types.SimpleNamespace(api_key="abcd1234", signature_secret=secret)
    body = json.dumps({"status": "delivered", "text": "héllo \u2028 \"quoted\""}).encode()

    token = sandbox_webhooks.sign(body, account, application_id)

    claims = {"iat": 1_765_000_000, "jti": str(fixed), "iss": "Vonage",
              "payload_hash": hashlib.sha256(body).hexdigest(), "api_key": "abcd1234"}
    if application_id:
        claims["application_id"] = application_id
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT warns about short HMAC keys
        assert token.encode() == jwt.encode(claims, secret, algorithm="HS256").encode()
        assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
        assert jwt.decode(token, secret, algorithms=["HS256"]) == claims
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, secret + "x", algorithms=["HS256"])
    assert receiver_signature.verify_signed_webhook(f"Bearer {token}", body, secret, now=1_765_000_001) == claims
