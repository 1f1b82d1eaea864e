"""The live-mode receiver's event log and its HTTP protocol, the background receiver every kernel shares."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

from fbfailover.config import Settings
from fbfailover.errors import ConfigError
from fbfailover.webhooks.eventlog import EVENTS_PATH, EventLog
from fbfailover.webhooks.receiver import Receiver
from fbfailover.webhooks.shared import ensure_shared_receiver, probe, stop_shared_receiver
from fbfailover.webhooks.stream import StreamSource
from tests.ports import free_port

KEY, SECRET = "key123", "secret456"
BODY = b'{"message_uuid": "m-1", "status": "delivered", "timestamp": "2026-01-01T00:00:00Z", "channel": "sms"}'


def test_the_log_numbers_events_and_counts_what_its_bound_dropped():
    log = EventLog(max_events=2)
    ids = [log.add("/webhooks/status", {"Content-Type": "application/json", "Cookie": "x"}, BODY) for _ in range(3)]
    assert ids == [1, 2, 3]
    page = log.after(0)
    assert [e["id"] for e in page["events"]] == [2, 3] and page["cursor"] == 3 and page["missed"] == 1
    assert page["events"][0]["headers"] == {"Content-Type": "application/json"}
    assert page["events"][0]["body"] == BODY.decode()
    assert log.after(3) == {"events": [], "cursor": 3, "missed": 0, "epoch": log.epoch}
    assert log.add("/webhooks/status", {}, b"\xff\x00")
    assert log.after(3)["events"][0]["body_encoding"] == "base64"


@pytest.fixture
def receiver():
    handle = Receiver(0, None, event_log=EventLog(), log_credentials=(KEY, SECRET))
    yield handle
    handle.stop()


def _post(receiver, body: bytes = BODY) -> None:
    response = requests.post(receiver.status_url + "?x=1", data=body, timeout=5,
                             headers={"Content-Type": "application/json", "Authorization": "Bearer t"})
    assert response.status_code == 200


def test_events_need_the_accounts_credentials(receiver):
    url = receiver.local_url + EVENTS_PATH
    for auth in (None, (KEY, "wrong"), ("other", SECRET)):
        answer = requests.get(url, auth=auth, timeout=5)
        assert answer.status_code == 401 and answer.json()["title"] == "Unauthorized"
        assert answer.headers["X-Fbfailover-Receiver"] == "1"
    assert requests.get(url, params={"wait": 26}, auth=(KEY, SECRET), timeout=5).status_code == 400


def test_events_are_served_exactly_as_they_came_and_long_polled(receiver):
    url = receiver.local_url + EVENTS_PATH
    first = requests.get(url, auth=(KEY, SECRET), timeout=5).json()
    assert first == {"events": [], "cursor": 0, "missed": 0, "epoch": first["epoch"]} and len(first["epoch"]) == 32
    threading.Timer(0.3, _post, (receiver,)).start()
    started = time.monotonic()
    page = requests.get(url, params={"after": 0, "wait": 5}, auth=(KEY, SECRET), timeout=10).json()
    assert 0.2 < time.monotonic() - started < 4
    (event,) = page["events"]
    assert (event["id"], event["path"], event["body"], event["query"]) == (1, "/webhooks/status", BODY.decode(), "x=1")
    assert event["headers"]["Authorization"] == "Bearer t" and page["cursor"] == 1 and page["missed"] == 0
    assert json.loads(event["body"])["status"] == "delivered" and event["received"] <= time.time()


def test_a_stream_source_reads_the_receivers_log(receiver):
    source = StreamSource(receiver.local_url, KEY, SECRET, events_path=EVENTS_PATH, mailbox_url=receiver.url,
                          wait=1)
    try:
        _post(receiver)
        event = source.wait_for("status", message_uuid="m-1", timeout=10)
        assert event.status == "delivered" and source.status_url == receiver.status_url
    finally:
        source.stop()



def test_one_background_receiver_per_project(isolated_settings, monkeypatch):
    port = free_port()
    monkeypatch.setenv("FBFAILOVER_RECEIVER_PORT", str(port))
    monkeypatch.setenv("VONAGE_API_KEY", KEY)
    monkeypatch.setenv("VONAGE_API_SECRET", SECRET)
    settings = Settings(api_key=KEY, api_secret=SECRET, receiver_port=port)
    assert probe(port) == "free"
    try:
        url = ensure_shared_receiver(settings)
        assert probe(port) == "ours" and url == f"http://127.0.0.1:{port}"
        pid = (isolated_settings / "data" / "receiver.pid").read_text()
        assert ensure_shared_receiver(settings) == url  # a second kernel finds it, starts nothing
        assert (isolated_settings / "data" / "receiver.pid").read_text() == pid
        answer = requests.get(url + EVENTS_PATH, auth=(KEY, SECRET), timeout=5)
        assert answer.status_code == 200 and answer.json()["events"] == []
    finally:
        said = stop_shared_receiver()
    assert said.startswith("stopped") and probe(port) == "free"
    assert stop_shared_receiver().startswith("no background receiver")


def test_a_port_held_by_another_program_is_named(isolated_settings):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(ConfigError, match=f"port {port} is taken"):
            ensure_shared_receiver(Settings(receiver_port=port))
