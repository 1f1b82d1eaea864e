"""Failover scenarios on a manual clock, observed through the signed webhooks a collector receives."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests

from tests.sandbox.sandbox_helpers import PSID, SMS_TO, basic, post_dispatch, tutorial_body

_BOX: list = []


@pytest.fixture(autouse=True)
def _remember(sandbox):
    _BOX[:] = [sandbox]


def _ts(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def _statuses(collector, dispatch_uuid: str, box=None) -> list[tuple[str, str]]:
    """(channel, status) of every message-status webhook of a dispatch, in the order they were emitted.

    The order comes from the sandbox's delivery log; the collector must have received exactly those bodies.
    """
    received = [
        b for b in collector.bodies() if b.get("_links", {}).get("dispatch", {}).get("dispatch_uuid") == dispatch_uuid
    ]
    emitted = [d["body"] for d in _BOX[0].deliveries(dispatch_uuid=dispatch_uuid) if d["kind"] == "status"]
    assert sorted(map(repr, received)) == sorted(map(repr, emitted))
    return [(b["to"]["type"], b["status"]) for b in emitted]


def _reports(collector, dispatch_uuid: str) -> list[dict]:
    return [b for b in collector.bodies() if b.get("dispatch_uuid") == dispatch_uuid and "template" in b]


def test_read_in_time_completes_without_sms(sandbox, collector, app_with_key):
    sandbox.set_recipient("messenger", PSID, "read", after=30)
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(700)
    assert _statuses(collector, dispatch_uuid) == [
        ("messenger", "submitted"),
        ("messenger", "delivered"),
        ("messenger", "read"),
    ]
    reports = _reports(collector, dispatch_uuid)
    assert len(reports) == 1 and reports[0]["status"] == "completed"
    assert [m["status"] for m in reports[0]["_links"]["messages"]] == ["read"]
    timeline = sandbox.dispatch(dispatch_uuid)
    assert timeline["status"] == "completed" and len(timeline["messages"]) == 1


def test_never_read_fails_over_to_sms_after_the_expiry(sandbox, collector, app_with_key):
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(599)
    assert _statuses(collector, dispatch_uuid) == [("messenger", "submitted"), ("messenger", "delivered")]
    assert _reports(collector, dispatch_uuid) == []
    sandbox.advance(10)
    statuses = _statuses(collector, dispatch_uuid)
    assert statuses == [
        ("messenger", "submitted"),
        ("messenger", "delivered"),
        ("sms", "submitted"),
        ("sms", "delivered"),
    ]
    bodies = {(b["to"]["type"], b["status"]): b for b in collector.bodies() if "status" in b and "to" in b}
    waited = _ts(bodies["sms", "submitted"]["timestamp"]) - _ts(bodies["messenger", "submitted"]["timestamp"])
    assert abs(waited - 600) < 0.01
    assert bodies["sms", "submitted"]["usage"] == {"price": "0.0333", "currency": "EUR"}  # SMS: charged when submitted
    assert "usage" not in bodies["sms", "delivered"]
    link = bodies["sms", "submitted"]["_links"]["dispatch"]
    assert link == {"href": f"v0.1/dispatch/{dispatch_uuid}", "dispatch_uuid": dispatch_uuid}
    (report,) = _reports(collector, dispatch_uuid)
    assert report["status"] == "completed" and report["template"] == "failover"
    assert [(m["channel"], m["status"]) for m in report["_links"]["messages"]] == [
        ("messenger", "delivered"),
        ("sms", "delivered"),
    ]
    assert report["_links"]["messages"][1]["href"].startswith("v0.1/messages/")
    assert report["usage"]["currency"] == "EUR"
    timeline = sandbox.dispatch(dispatch_uuid)
    assert [e["event"] for e in timeline["events"]] == [
        "sent",
        "expired",
        "sent",
        "condition delivered reached",
        "completed",
    ]


def test_messenger_rejected_sends_sms_at_once(sandbox, collector, app_with_key):
    sandbox.set_recipient("messenger", PSID, "rejected", error_code=1340)
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(0)
    sandbox.advance(5)
    assert _statuses(collector, dispatch_uuid) == [
        ("messenger", "submitted"),
        ("messenger", "rejected"),
        ("sms", "submitted"),
        ("sms", "delivered"),
    ]
    rejected = next(b for b in collector.bodies() if b.get("status") == "rejected")
    assert rejected["error"] == {"code": 1340, "reason": "Outside of the allowed window"}
    sms = next(b for b in collector.bodies() if b.get("status") == "submitted" and b["to"]["type"] == "sms")
    assert sms["timestamp"] == rejected["timestamp"]
    (report,) = _reports(collector, dispatch_uuid)
    assert report["status"] == "completed"


def test_sms_undeliverable_ends_in_error(sandbox, collector, app_with_key):
    sandbox.set_recipient("messenger", PSID, "undeliverable", after=3)
    sandbox.set_recipient("sms", SMS_TO, "undeliverable", after=4, error_code=1250)
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(10)
    assert _statuses(collector, dispatch_uuid) == [
        ("messenger", "submitted"),
        ("messenger", "undeliverable"),
        ("sms", "submitted"),
        ("sms", "undeliverable"),
    ]
    (report,) = _reports(collector, dispatch_uuid)
    assert report["status"] == "error"
    assert [m["status"] for m in report["_links"]["messages"]] == ["undeliverable", "undeliverable"]
    assert sandbox.dispatch(dispatch_uuid)["status"] == "error"


def test_late_read_after_failover_gets_its_own_webhook_only(sandbox, collector, app_with_key):
    sandbox.set_recipient("messenger", PSID, "read", after=900)
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(1000)
    assert _statuses(collector, dispatch_uuid) == [
        ("messenger", "submitted"),
        ("messenger", "delivered"),
        ("sms", "submitted"),
        ("sms", "delivered"),
        ("messenger", "read"),
    ]
    assert len(_reports(collector, dispatch_uuid)) == 1


def test_delivered_condition_is_met_by_delivery(sandbox, collector, app_with_key):
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"], tutorial_body(60, "delivered")).json()[
        "dispatch_uuid"
    ]
    sandbox.advance(120)
    assert _statuses(collector, dispatch_uuid) == [("messenger", "submitted"), ("messenger", "delivered")]
    assert _reports(collector, dispatch_uuid)[0]["status"] == "completed"


def test_basic_auth_routes_to_the_account_dr_url(sandbox, collector, app_with_key):
    requests.post(
        f"{sandbox.url}/account/settings",
        data={"drCallBackUrl": f"{collector.url}/dr"},
        auth=basic(sandbox),
        timeout=10,
    )
    response = requests.post(f"{sandbox.url}/v0.1/dispatch", json=tutorial_body(), auth=basic(sandbox), timeout=10)
    sandbox.advance(700)
    hits = collector.wait(5, "/dr")
    assert len(hits) == 5 and not collector.bodies("/status")
    assert {h.json().get("_links", {}).get("dispatch", {}).get("dispatch_uuid") for h in hits[:4]} == {
        response.json()["dispatch_uuid"]
    }


def test_beta_workflows_links_use_workflow_keys(sandbox, collector, app_with_key):
    workflow_uuid = post_dispatch(sandbox, app_with_key["token"], path="/beta/workflows").json()["workflow_uuid"]
    sandbox.advance(1)
    body = collector.bodies()[0]
    assert body["_links"] == {"workflow": {"href": f"beta/workflows/{workflow_uuid}", "workflow_uuid": workflow_uuid}}


def test_v1_failover_on_rejection_only(sandbox, collector, app_with_key):
    headers = {"Authorization": f"Bearer {app_with_key['token']}"}
    body = {
        "channel": "messenger",
        "message_type": "text",
        "to": PSID,
        "from": "107083064136738",
        "text": "hi",
        "client_ref": "order-1",
        "failover": [{"channel": "sms", "message_type": "text", "to": SMS_TO, "from": "Vonage", "text": "hi"}],
    }
    answer = requests.post(f"{sandbox.url}/v1/messages", json=body, headers=headers, timeout=10).json()
    sandbox.advance(700)  # delivered, never read: v1 does not fail over
    assert [(b["channel"], b["status"]) for b in collector.bodies()] == [
        ("messenger", "submitted"),
        ("messenger", "delivered"),
    ]
    first = collector.bodies()[0]
    assert first["workflow"] == {"id": answer["workflow_id"], "item_number": 1, "items_total": 2}
    assert first["to"] == PSID and first["message_uuid"] == answer["message_uuid"] and first["client_ref"] == "order-1"
    collector.clear()
    sandbox.set_recipient("messenger", PSID, "rejected")
    answer = requests.post(f"{sandbox.url}/v1/messages", json=body, headers=headers, timeout=10).json()
    sandbox.advance(10)
    seen = sorted(
        ((b["workflow"]["item_number"], b["status"]) for b in collector.bodies()),
        key=lambda x: (x[0], ["submitted", "rejected", "delivered"].index(x[1])),
    )
    assert seen == [(1, "submitted"), (1, "rejected"), (2, "submitted"), (2, "delivered")]
    rejected = next(b for b in collector.bodies() if b["status"] == "rejected")
    assert rejected["error"]["title"] == 1300 and rejected["error"]["type"].endswith("messages#1300")
    assert sandbox.dispatch(answer["workflow_id"])["status"] == "completed"


def test_v1_does_not_fail_over_on_undeliverable(sandbox, collector, app_with_key):
    """Vonage's failover guide and migration guide: v1 fails over when a message is rejected. An undeliverable
    message (Vonage could not reach the provider) ends the workflow: the SMS in the failover list is not sent."""
    headers = {"Authorization": f"Bearer {app_with_key['token']}"}
    body = {
        "channel": "messenger", "message_type": "text", "to": PSID, "from": "107083064136738", "text": "hi",
        "failover": [{"channel": "sms", "message_type": "text", "to": SMS_TO, "from": "Vonage", "text": "hi"}],
    }
    sandbox.set_recipient("messenger", PSID, "undeliverable")
    answer = requests.post(f"{sandbox.url}/v1/messages", json=body, headers=headers, timeout=10).json()
    sandbox.advance(700)
    assert [(b["channel"], b["status"]) for b in collector.bodies()] == [
        ("messenger", "submitted"),
        ("messenger", "undeliverable"),
    ]
    workflow = sandbox.dispatch(answer["workflow_id"])
    assert workflow["status"] == "error" and len(workflow["messages"]) == 1
    # Dispatch still moves on at an undeliverable message ("fails immediately", the Dispatch overview)
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(10)
    assert [m["channel"] for m in sandbox.dispatch(dispatch_uuid)["messages"]] == ["messenger", "sms"]


def test_usage_comes_once_per_message_on_its_chargeable_status(sandbox, collector, app_with_key):
    """Vonage's "Messages API status callbacks": SMS and MMS are charged when submitted, WhatsApp, Viber, Messenger
    and RCS when delivered. ``usage`` comes with that status only, so summing it over the webhooks counts each
    message once and never under-counts an SMS that is submitted but not (yet) delivered."""
    sandbox.set_recipient("messenger", PSID, "read", after=700)  # delivered, read after the expiry
    sandbox.set_recipient("sms", SMS_TO, "undeliverable", after=5)
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(800)
    bodies = [b for b in collector.bodies() if "to" in b]
    charged = [(b["to"]["type"], b["status"], b["usage"]["price"]) for b in bodies if "usage" in b]
    assert charged == [("messenger", "delivered", "0.0050"), ("sms", "submitted", "0.0333")]
    (report,) = _reports(collector, dispatch_uuid)
    assert report["status"] == "error"
    assert [m.get("usage", {}).get("price") for m in report["_links"]["messages"]] == ["0.0050", "0.0333"]
    assert report["usage"]["price"] == "0.0403"  # 0.0050 + 0.0333 + the 0.0020 per-workflow fee
