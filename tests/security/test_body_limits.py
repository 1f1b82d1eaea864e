"""Finding 3: a body size limit per route that fits the real payloads.

Before: every sandbox route kept bodies up to 1 MB (and the server read 4 MB), whatever the route takes. Now each
kind of route keeps at most its ``BODY_LIMITS`` entry (``fbfailover/sandbox/http.py``, the README's "Request
bodies"): a longer body is answered 413 problem JSON, never a 500, whether its ``Content-Length`` says so or it
comes chunked without one; past 4 MB (declared or streamed) the 413 comes before any more is read. The largest
real payload of each kind fits.
"""

from __future__ import annotations

import json
import socket

import pytest
import requests

from fbfailover.channels import CHANNELS, by_name
from fbfailover.sandbox.http import BODY_LIMITS, ERRORS, SERVER_LIMITS
from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET, SMS_FROM, SMS_TO, create_app, mint, post_dispatch

AUTH = (API_KEY, API_SECRET)
#: One route of each kind, and the others of the same kind: (method, path, kind).
ROUTES = [
    ("POST", "/v0.1/dispatch", "send"),
    ("POST", "/beta/workflows", "send"),
    ("POST", "/v0.1/messages", "send"),
    ("POST", "/v1/messages", "send"),
    ("POST", "/_sandbox/inbound", "send"),
    ("POST", "/v2/applications", "application"),
    ("PUT", "/v2/applications/00000000-0000-4000-8000-000000000000", "application"),
    ("POST", "/account/settings", "settings"),
    ("POST", f"/_sandbox/mailbox/{API_KEY}/webhooks/inbound", "mailbox"),
    ("POST", "/_sandbox/clock/advance", "control"),
    ("PUT", "/_sandbox/recipients/sms/447700900001", "control"),
    ("POST", "/_sandbox/accounts", "control"),
    ("PUT", "/_sandbox/attendee", "control"),
    ("GET", "/_sandbox/clock", "none"),
    ("DELETE", "/_sandbox/recipients", "none"),
    ("GET", "/v0.1/dispatch/ping", "none"),
]
IDS = [f"{method} {path}" for method, path, _ in ROUTES]


def _is_413(answer: requests.Response, limit: int) -> None:
    assert answer.status_code == 413, (answer.status_code, answer.text[:300])
    problem = answer.json()
    assert problem["type"] == f"{ERRORS}#payload-too-large" and problem["title"] == "Payload Too Large"
    assert f"at most {limit} bytes" in problem["detail"]


def test_each_limit_fits_its_real_payload_and_is_a_few_kilobytes():
    longest = max(c.text_max for c in CHANNELS)
    # A failover of the longest text and an SMS, every character escaped at its worst (12 bytes), fits a send.
    worst = json.dumps({"text": "\U0001f600" * longest}) + json.dumps({"text": "\U0001f600" * by_name("sms").text_max})
    assert len(worst) < BODY_LIMITS["send"] <= 64 * 1024 + 1024
    assert BODY_LIMITS["application"] <= 16 * 1024 and BODY_LIMITS["settings"] <= 8 * 1024
    assert BODY_LIMITS["control"] <= 4 * 1024 and BODY_LIMITS["none"] <= 1024
    assert max(BODY_LIMITS.values()) < SERVER_LIMITS["max_body_size"]


@pytest.mark.parametrize(("method", "path", "kind"), ROUTES, ids=IDS)
def test_a_body_one_byte_over_its_routes_limit_is_a_413(sandbox, method, path, kind):
    limit = BODY_LIMITS[kind]
    answer = requests.request(method, sandbox.url + path, data=b"{" + b" " * (limit - 1) + b"}", auth=AUTH,
                              headers={"Content-Type": "application/json"}, timeout=10)
    _is_413(answer, limit)


@pytest.mark.parametrize(("method", "path", "kind"), ROUTES, ids=IDS)
def test_a_body_at_its_routes_limit_is_not_refused_for_its_size(sandbox, method, path, kind):
    answer = requests.request(method, sandbox.url + path, data=b"{" + b" " * (BODY_LIMITS[kind] - 2) + b"}",
                              auth=AUTH, headers={"Content-Type": "application/json"}, timeout=10)
    assert answer.status_code != 413 and answer.status_code < 500, answer.text[:300]


@pytest.mark.parametrize(("method", "path", "kind"), ROUTES, ids=IDS)
def test_a_chunked_body_without_a_length_is_bounded_too(sandbox, method, path, kind):
    limit = BODY_LIMITS[kind]

    def chunks():  # no Content-Length: requests sends Transfer-Encoding: chunked
        for _ in range(limit // 1000 + 2):
            yield b" " * 1000

    answer = requests.request(method, sandbox.url + path, data=chunks(), auth=AUTH,
                              headers={"Content-Type": "application/json"}, timeout=10)
    assert "Content-Length" not in answer.request.headers
    assert answer.request.headers["Transfer-Encoding"] == "chunked"
    _is_413(answer, limit)


def _raw_answer(url: str, head: bytes, body_chunks=()) -> bytes:
    """Send ``head`` (and as many of ``body_chunks`` as the server reads), then read the answer to its end."""
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:  # the server answered and closed: it read no further
            pass
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except OSError:
            pass
        return answer


def test_a_huge_declared_length_is_answered_before_the_body_is_sent(sandbox):
    answer = _raw_answer(sandbox.url, b"POST /v0.1/dispatch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 500000000\r\n\r\n")  # and not one byte of the body
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["title"] == "Payload Too Large"


def test_a_chunked_stream_past_the_servers_read_limit_is_cut_off(sandbox):
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"  # 64 KiB chunks, never a last one
    sent = (chunk for _ in range(4 * SERVER_LIMITS["max_body_size"] // 0x10000))
    answer = _raw_answer(sandbox.url, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n", sent)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert next(sent, None) is not None  # the server stopped reading long before the stream ended


def test_the_largest_real_send_is_accepted(sandbox, key_pair):
    app = create_app(sandbox, key_pair[1])
    longest = max(CHANNELS, key=lambda c: c.text_max)
    body = {"template": "failover", "workflow": [
        {"from": {"type": longest.name, "number": SMS_FROM}, "to": {"type": longest.name, "number": SMS_TO},
         "message": {"content": {"type": "text", "text": "\U0001f600" * longest.text_max}},
         "failover": {"expiry_time": 600, "condition_status": "delivered"}},
        {"from": {"type": "sms", "number": SMS_FROM}, "to": {"type": "sms", "number": SMS_TO},
         "message": {"content": {"type": "text", "text": "\U0001f600" * by_name("sms").text_max}}},
    ]}
    assert BODY_LIMITS["send"] - 4096 < len(json.dumps(body)) <= BODY_LIMITS["send"]
    answer = post_dispatch(sandbox, mint(app["id"], key_pair[0]), body)
    assert answer.status_code == 202, answer.text[:300]


def test_an_application_with_a_4096_bit_key_and_every_webhook_fits(sandbox):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    public = rsa.generate_private_key(public_exponent=65537, key_size=4096).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    hook = {"address": "https://" + "a" * 200 + ".example.com/webhooks/" + "b" * 200, "http_method": "POST"}
    body = {"name": "n" * 200, "keys": {"public_key": public}, "capabilities": {
        "messages": {"webhooks": {"inbound_url": hook, "status_url": hook}, "version": "v1"},
        "voice": {"webhooks": {"answer_url": hook, "event_url": hook, "fallback_answer_url": hook}},
        "rtc": {"webhooks": {"event_url": hook}}, "vbc": {}}}
    assert len(json.dumps(body)) < BODY_LIMITS["application"] // 2
    answer = requests.post(f"{sandbox.url}/v2/applications", json=body, auth=AUTH, timeout=10)
    assert answer.status_code == 201, answer.text[:300]
