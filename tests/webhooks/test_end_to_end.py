"""End to end with the sandbox: a dispatch whose Messenger message is never read fails over to SMS."""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Iterator

import jwt
import pytest
import requests

from fbfailover import sandbox as sandbox_package
from fbfailover import webhooks
from fbfailover.widgets import FailoverTimeline

if not hasattr(sandbox_package, "start"):  # loud in the -ra summary, never silent
    pytest.skip("fbfailover.sandbox.start() is not available: end-to-end test not run",
                allow_module_level=True)

PSID, PAGE = "1234567890123456", "9876543210987654"
SMS_TO, SMS_FROM = "447700900001", "447700900000"


@pytest.fixture
def sandbox() -> Iterator:
    box = sandbox_package.start(db=":memory:", time_scale=600.0)
    try:
        yield box
    finally:
        box.stop()


def create_application(box, receiver: webhooks.Receiver) -> tuple[str, str]:
    basic = base64.b64encode(f"{box.api_key}:{box.api_secret}".encode()).decode()
    body = {"name": "failover tutorial", "capabilities": {"messages": {"webhooks": {
        "inbound_url": {"address": receiver.inbound_url, "http_method": "POST"},
        "status_url": {"address": receiver.status_url, "http_method": "POST"}}}}}
    response = requests.post(f"{box.url}/v2/applications", json=body, timeout=10,
                             headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 201, response.text
    created = response.json()
    return created["id"], created["keys"]["private_key"]


def application_jwt(application_id: str, private_key: str) -> str:
    now = int(time.time())
    claims = {"application_id": application_id, "iat": now, "jti": str(uuid.uuid4()), "exp": now + 900}
    return jwt.encode(claims, private_key, algorithm="RS256")


def tutorial_dispatch() -> dict:
    return {"template": "failover", "workflow": [
        {"from": {"type": "messenger", "id": PAGE}, "to": {"type": "messenger", "id": PSID},
         "message": {"content": {"type": "text", "text": "Hi via Messenger"}},
         "failover": {"expiry_time": 600, "condition_status": "read"}},
        {"from": {"type": "sms", "number": SMS_FROM}, "to": {"type": "sms", "number": SMS_TO},
         "message": {"content": {"type": "text", "text": "Hi via SMS"}}},
    ]}


def test_unread_messenger_message_fails_over_to_sms(sandbox):
    with webhooks.Receiver(signature_secret=sandbox.signature_secret) as receiver:
        application_id, private_key = create_application(sandbox, receiver)
        sandbox.set_recipient("messenger", PSID, "delivered")  # delivered, never read
        sandbox.set_recipient("sms", SMS_TO, "delivered")
        token = application_jwt(application_id, private_key)
        response = requests.post(f"{sandbox.url}/v0.1/dispatch", json=tutorial_dispatch(), timeout=10,
                                 headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 202, response.text
        dispatch_uuid = response.json()["dispatch_uuid"]

        report = receiver.wait_for("final_report", dispatch_uuid=dispatch_uuid, timeout=20)
        # webhooks of one dispatch may overtake each other: wait for every expected one
        for channel in ("messenger", "sms"):
            for status in ("submitted", "delivered"):
                receiver.wait_for("status", dispatch_uuid=dispatch_uuid, channel=channel, status=status,
                                  timeout=10)

        assert report.status == "completed"
        events = receiver.events(dispatch_uuid=dispatch_uuid)
        assert receiver.rejections == []
        assert {e.signature for e in events} == {"verified"}
        assert all(e.sent_at is not None and e.sent_at <= e.received_at for e in events)  # latency stamps
        assert len(receiver.events("final_report", dispatch_uuid)) == 1
        statuses = [e for e in events if e.kind == "status"]
        per_message: dict[str, list[str]] = {}
        channel_of: dict[str, str] = {}
        # Ordered by the webhooks' own timestamps: like Vonage, the sandbox may deliver two webhooks of one
        # message over parallel connections, so arrival order is not guaranteed.
        for event in sorted(statuses, key=lambda e: (e.time, e.seq)):
            per_message.setdefault(event.message_uuid, []).append(event.status)
            channel_of[event.message_uuid] = event.channel
        assert sorted(channel_of.values()) == ["messenger", "sms"]
        for message_uuid, seen in per_message.items():
            assert seen == ["submitted", "delivered"], (channel_of[message_uuid], seen)

        timeline = FailoverTimeline(receiver, dispatch_uuid, expiry_time=600, condition_status="read")
        text = repr(timeline)
        expected = (r"FailoverTimeline\(dispatch, completed\): messenger submitted@0s delivered@\d+s \| "
                    r"sms submitted@\d+s delivered@\d+s \| deadline 600s")
        assert re.fullmatch(expected, text), text
        sms_submitted = int(re.search(r"sms submitted@(\d+)s", text).group(1))
        assert 600 <= sms_submitted <= 610
        assert "failover to sms after" in timeline.value
        timeline.close()
