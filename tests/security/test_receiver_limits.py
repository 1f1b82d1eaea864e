"""The receiver's growth is bounded in bytes: a body size limit per route (413 problem JSON, decided from the headers
before the body is read), a log that cuts each body and rotates, and a ``receiver.log`` only its owner can read."""

from __future__ import annotations

import json
import socket
import stat

import pytest
import requests

from fbfailover.config import Settings
from fbfailover.webhooks import Receiver
from fbfailover.webhooks.app import DISCARD_LIMIT, MAX_BODY
from fbfailover.webhooks.cli import MAX_LOGGED_BODY, BoundedLog, _event_line
from fbfailover.webhooks.shared import ensure_shared_receiver, stop_shared_receiver
from tests.ports import free_port
from tests.webhooks.webhook_helpers import SECRET, post

STATUS = {"message_uuid": "m-1", "status": "delivered", "timestamp": "2025-01-01T00:00:00Z"}


@pytest.fixture
def receiver():
    with Receiver(signature_secret=SECRET) as r:
        yield r


def _padded(size: int) -> bytes:
    """A status body of exactly ``size`` bytes."""
    raw = json.dumps({**STATUS, "pad": ""}, separators=(",", ":")).encode()
    return raw.replace(b'"pad":""', b'"pad":"' + b"x" * (size - len(raw)) + b'"')


def test_a_body_at_the_limit_is_taken_and_one_byte_more_is_413(receiver):
    assert post(receiver.status_url, _padded(MAX_BODY), secret=SECRET).status_code == 200
    answer = post(receiver.status_url, _padded(MAX_BODY + 1), secret=SECRET)  # read to its end, then refused
    assert answer.status_code == 413
    assert answer.json()["title"] == "Content Too Large" and str(MAX_BODY) in answer.json()["detail"]
    assert len(receiver.events()) == 1
    assert [r.status for r in receiver.rejections] == [413]


def test_a_huge_declared_body_is_refused_from_its_headers_alone(receiver):
    """The client announces 1 GB and sends none of it: the answer comes at once, the connection is closed."""
    head, body = _raw(receiver.port, b"POST /webhooks/inbound HTTP/1.1\r\nHost: x\r\n"
                                     b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["title"] == "Content Too Large"
    assert requests.get(receiver.url + "/health", timeout=5).json()["rejected"] == 1


def _raw(port: int, *parts: bytes) -> tuple[bytes, bytes]:
    """Send ``parts`` on one connection, then read until the receiver closes it; returns (head, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        for part in parts:
            conn.sendall(part)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return head, body


CHUNKED = b"POST /webhooks/inbound HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("size", [MAX_BODY + 1, DISCARD_LIMIT * MAX_BODY, DISCARD_LIMIT * MAX_BODY + 1])
def test_a_chunked_body_is_refused_as_it_passes_the_limit(receiver, size):
    """Up to DISCARD_LIMIT times the limit the body is read and thrown away, then answered; one byte more and the
    answer goes at once (the client sends nothing after it, so it reads the answer either way)."""
    head, body = _raw(receiver.port, CHUNKED, b"%x\r\n" % size + b"x" * size + b"\r\n",
                      *([b"0\r\n\r\n"] if size <= DISCARD_LIMIT * MAX_BODY else []))
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body)["title"] == "Content Too Large"
    assert receiver.events() == []
    assert requests.get(receiver.url + "/health", timeout=5).status_code == 200


def test_each_logged_body_is_cut_at_4_kib():
    small = {"text": "hi"}
    assert json.loads(_event_line("inbound", small)) == {"kind": "inbound", "body": small}
    line = _event_line("inbound", {"text": "x" * 30_000})
    parsed = json.loads(line)
    assert len(parsed["body_truncated"]) == MAX_LOGGED_BODY and parsed["body_chars"] > 30_000
    assert len(line) < MAX_LOGGED_BODY + 200


def test_the_log_file_rotates_and_is_private(tmp_path):
    path = tmp_path / "receiver.log"
    path.write_text("old\n")
    path.chmod(0o644)
    log = BoundedLog(path, max_bytes=10_000)
    try:
        for n in range(1_000):  # 100 KB written, 10 KB kept per file
            log.write(f"{n:099d}\n")
        log.flush()
    finally:
        log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["receiver.log", "receiver.log.1"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 10_000
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert path.read_text().endswith(f"{999:099d}\n")


def test_the_background_receiver_logs_to_a_private_bounded_file(isolated_settings, monkeypatch):
    port = free_port()
    monkeypatch.setenv("FBFAILOVER_RECEIVER_PORT", str(port))
    log = isolated_settings / "data" / "receiver.log"
    log.parent.mkdir(parents=True)
    log.write_text("")
    log.chmod(0o644)  # left by an older version
    try:
        url = ensure_shared_receiver(Settings(receiver_port=port))
        assert post(url + "/webhooks/status", {**STATUS, "text": "y" * 20_000}).status_code == 200
    finally:
        stop_shared_receiver()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    [event] = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert event["kind"] == "status" and len(event["body_truncated"]) == MAX_LOGGED_BODY


def test_the_events_file_is_private(tmp_path):
    path = tmp_path / "events.jsonl"
    with Receiver(events_file=path) as receiver:
        assert post(receiver.status_url, STATUS).status_code == 200
        receiver.store.flush()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["status"] == "delivered"
