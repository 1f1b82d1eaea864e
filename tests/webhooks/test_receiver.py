"""The receiver over HTTP: routes, kinds, signatures, dedupe, the handle."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import requests

from fbfailover import webhooks
from tests.webhooks.webhook_helpers import DISPATCH, INBOUND, SECRET, final_report_body, post, sign, status_body


@pytest.mark.parametrize(("route", "body", "kind"), [
    ("/webhooks/inbound", INBOUND, "inbound"),
    ("/webhooks/status", status_body(), "status"),
    ("/webhooks/status", final_report_body(), "final_report"),
    ("/webhooks/inbound-sms", INBOUND, "inbound"),
    ("/webhooks/delivery-receipt", status_body(), "status"),
    ("/webhooks/delivery-receipt", final_report_body(), "final_report"),
])
def test_each_route_and_kind(receiver, route, body, kind):
    response = post(receiver.url + route, body)
    assert response.status_code == 200
    [event] = receiver.events()
    assert (event.route, event.kind, event.body, event.signature) == (route, kind, body, "absent")


def test_urls(receiver):
    assert receiver.url.startswith("http://127.0.0.1:")
    assert receiver.inbound_url == receiver.url + "/webhooks/inbound"
    assert receiver.status_url == receiver.url + "/webhooks/status"
    assert set(receiver.urls) == {"inbound_url", "status_url", "inbound_sms_url", "delivery_receipt_url"}


def test_public_url_builds_the_handed_out_urls():
    with webhooks.Receiver(public_url="https://abc.example.ngrok.app/") as r:
        assert r.status_url == "https://abc.example.ngrok.app/webhooks/status"
        assert r.local_url.startswith("http://127.0.0.1:")
        assert requests.get(r.local_url + "/health", timeout=5).json()["status"] == "ok"


def test_health_and_index(receiver):
    post(receiver.status_url, status_body())
    health = requests.get(receiver.url + "/health", timeout=5).json()
    assert health == {"status": "ok", "signatures": "not checked", "events": 1, "duplicates": 0,
                      "rejected": 0, "dropped": 0}
    assert "/webhooks/status" in requests.get(receiver.url + "/", timeout=5).json()["routes"]


def test_a_url_check_is_answered_and_not_recorded(signed_receiver):
    assert requests.get(signed_receiver.inbound_sms_url, timeout=5).status_code == 200
    assert signed_receiver.events() == []
    assert signed_receiver.rejections == []


def test_get_and_form_webhooks_of_the_sms_api(receiver):
    r = requests.get(receiver.inbound_sms_url, params={"msisdn": "447700900001", "text": "Hi",
                                                       "messageId": "0A01"}, timeout=5)
    assert r.status_code == 200
    r = requests.post(receiver.delivery_receipt_url, data={"msisdn": "447700900001", "messageId": "0A01",
                                                           "status": "delivered", "err-code": "0"}, timeout=5)
    assert r.status_code == 200
    inbound, receipt = receiver.events()
    assert (inbound.kind, inbound.body["text"]) == ("inbound", "Hi")
    assert (receipt.kind, receipt.status, receipt.error) == ("status", "delivered", None)


def test_body_that_is_not_json_is_refused(receiver):
    response = post(receiver.status_url, b"{not json")
    assert response.status_code == 400
    assert receiver.rejections[0].reason == "body is not JSON"
    assert receiver.stats.rejected == 1


def test_unsigned_receiver_says_so_once(receiver):
    assert receiver.signatures == "not checked"
    assert receiver.notices == []
    post(receiver.status_url, status_body())
    post(receiver.status_url, status_body("delivered"), secret=SECRET)
    assert len(receiver.notices) == 1
    assert "unsigned" in receiver.notices[0]
    assert [e.signature for e in receiver.events()] == ["absent", "unchecked"]


def test_sent_at_header_is_kept(receiver):
    post(receiver.status_url, status_body(), headers={"X-Fbfailover-Sent-At": "1700000000.25"})
    post(receiver.status_url, status_body("read"), headers={"X-Fbfailover-Sent-At": "soon"})
    assert [e.sent_at for e in receiver.events()] == [1700000000.25, None]


def test_signed_webhook_accepted(signed_receiver):
    response = post(signed_receiver.status_url, status_body(), secret=SECRET)
    assert response.status_code == 200
    [event] = signed_receiver.events()
    assert event.signature == "verified"
    assert event.claims["iss"] == "Vonage"


@pytest.mark.parametrize(("case", "reason", "code"), [
    ("unsigned", "no Authorization header", 503),  # Vonage retries a 5xx: its retry is signed
    ("tampered", "payload_hash does not match", 401),
    ("wrong secret", "wrong secret", 401),
    ("stale iat", "stale iat", 401),
])
def test_signed_receiver_rejects(signed_receiver, case, reason, code):
    raw = b'{"message_uuid":"m-1","status":"delivered","timestamp":"2020-01-01T00:00:00.000Z"}'
    headers = {"Content-Type": "application/json"}
    if case == "tampered":
        headers["Authorization"] = sign(raw)
        raw = raw.replace(b"delivered", b"read")
    elif case == "wrong secret":
        headers["Authorization"] = sign(raw, "another-secret-0123456789abcdef0123")
    elif case == "stale iat":
        headers["Authorization"] = sign(raw, iat=time.time() - 600)
    response = requests.post(signed_receiver.status_url, data=raw, headers=headers, timeout=5)
    assert response.status_code == code
    assert reason in response.json()["detail"]
    assert signed_receiver.events() == []
    [rejection] = signed_receiver.rejections
    assert (rejection.route, rejection.status) == ("/webhooks/status", code)
    assert reason in rejection.reason
    assert signed_receiver.stats.rejected == 1


def test_redeliveries_are_deduplicated_but_counted(receiver):
    for _ in range(3):
        assert post(receiver.status_url, status_body("delivered"), secret=SECRET).status_code == 200
    for _ in range(2):
        post(receiver.status_url, final_report_body())
    assert [e.kind for e in receiver.events()] == ["status", "final_report"]
    assert [e.deliveries for e in receiver.events()] == [3, 2]
    assert receiver.stats.duplicates == 3


def test_slow_subscriber_does_not_delay_the_answer(receiver):
    release = threading.Event()
    receiver.subscribe(lambda event: release.wait(5))
    started = time.perf_counter()
    for n in range(5):
        post(receiver.status_url, status_body(timestamp=f"2020-01-01T00:00:0{n}.000Z"))
    elapsed = time.perf_counter() - started
    release.set()
    assert elapsed < 1.0
    assert len(receiver.events()) == 5


def test_wait_for_across_threads(receiver):
    threading.Timer(0.1, lambda: post(receiver.status_url, final_report_body())).start()
    event = receiver.wait_for("final_report", dispatch_uuid=DISPATCH, status="completed", timeout=5)
    assert event.kind == "final_report"


def test_wait_for_timeout_is_clear(receiver):
    post(receiver.status_url, status_body())
    expected = r"kind=final_report.*arrived instead: #1 status messenger"
    with pytest.raises(webhooks.WaitTimeout, match=expected):
        receiver.wait_for("final_report", timeout=0.05)


def test_await_for_does_not_block_the_loop(receiver):
    async def scenario():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.ensure_future(ticker())
        threading.Timer(0.2, lambda: post(receiver.status_url, final_report_body())).start()
        event = await receiver.await_for("final_report", timeout=5)
        task.cancel()
        with pytest.raises(webhooks.WaitTimeout):
            await receiver.await_for("inbound", timeout=0.05)
        return event, ticks

    event, ticks = asyncio.run(scenario())
    assert event.kind == "final_report"
    assert ticks >= 5


def test_start_replaces_the_previous_receiver():
    first = webhooks.start()
    try:
        second = webhooks.start()
        try:
            assert not first.running
            assert second.running
            assert webhooks.current() is second
            kept = webhooks.start(replace=False)
            assert second.running and kept.running
            kept.stop()
        finally:
            second.stop()
        assert webhooks.current() is None
    finally:
        first.stop()


def test_stop_twice_and_repr(receiver):
    assert repr(receiver).startswith("Receiver(url='http://127.0.0.1:")
    assert "running, signatures not checked, 0 events" in repr(receiver)
    receiver.stop()
    receiver.stop()
    assert "stopped" in repr(receiver)
    with pytest.raises(requests.ConnectionError):
        requests.get(receiver.url + "/health", timeout=2)


def test_events_file(tmp_path):
    path = tmp_path / "events.jsonl"
    with webhooks.start(events_file=path) as r:
        post(r.status_url, status_body())
    assert '"kind": "status"' in path.read_text()
