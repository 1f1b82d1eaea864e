"""Signed webhooks, retries with back-off under the manual clock, inbound messages and the control API."""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import datetime

import jwt
import pytest
import requests

from tests.sandbox.sandbox_helpers import PAGE, PSID, SIGNATURE_SECRET, basic, create_app, post_dispatch


def test_webhooks_are_signed_compact_json(sandbox, collector, app_with_key):
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(700)
    hits = collector.wait(5, "/status")
    assert len(hits) == 5  # messenger submitted, delivered; sms submitted, delivered; the final report
    for hit in hits:
        assert hit.headers["Content-Type"] == "application/json"
        scheme, token = hit.headers["Authorization"].split(" ")
        assert scheme == "Bearer"
        claims = jwt.decode(token, SIGNATURE_SECRET, algorithms=["HS256"])
        assert claims["iss"] == "Vonage" and claims["api_key"] == sandbox.api_key
        assert claims["application_id"] == app_with_key["id"]
        assert claims["payload_hash"] == hashlib.sha256(hit.body).hexdigest()
        assert set(claims) == {"iat", "jti", "iss", "payload_hash", "api_key", "application_id"}
        assert hit.body == json.dumps(json.loads(hit.body), separators=(",", ":"), ensure_ascii=False).encode()
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, "another secret of at least thirty-two bytes", algorithms=["HS256"])
    assert any(h.json().get("dispatch_uuid") == dispatch_uuid for h in hits)


def _attempt_offsets(delivery: dict) -> list[float]:
    first = delivery["attempts"][0]["at_unix"]
    return [round(a["at_unix"] - first, 3) for a in delivery["attempts"]]


@pytest.mark.parametrize("code", [500, 503, 429])
def test_retry_schedule_doubles_from_5_s_to_15_min(sandbox, collector, app_with_key, code):
    collector.codes["/status"] = code
    post_dispatch(sandbox, app_with_key["token"])
    sandbox.advance(4)
    first = sandbox.deliveries()[0]
    assert _attempt_offsets(first) == [0]
    sandbox.advance(1)
    assert _attempt_offsets(sandbox.deliveries()[0]) == [0, 5]
    sandbox.advance(3600 - 5)
    offsets = _attempt_offsets(sandbox.deliveries()[0])
    assert offsets[:10] == [0, 5, 15, 35, 75, 155, 315, 635, 1275, 2175]
    assert offsets[10] == 3075
    collector.codes["/status"] = 200
    sandbox.advance(900)
    delivered = sandbox.deliveries()[0]
    assert delivered["status"] == "delivered"
    assert [a["status_code"] for a in delivered["attempts"]] == [code] * (len(delivered["attempts"]) - 1) + [200]


def test_gives_up_after_24_hours(sandbox, collector, app_with_key):
    collector.codes["/status"] = 500
    post_dispatch(sandbox, app_with_key["token"])
    sandbox.advance(86400 + 1800)
    first = sandbox.deliveries()[0]
    assert first["status"] == "gave_up"
    offsets = _attempt_offsets(first)
    assert offsets[-1] <= 86400 and offsets[-1] + 900 > 86400
    assert all(b - a == 900 for a, b in itertools.pairwise(offsets[8:]))


def test_other_4xx_is_not_retried_and_connection_failures_are(sandbox, collector, key_pair):
    collector.codes["/status"] = 404
    app = create_app(sandbox, key_pair[1], collector.url)
    from tests.sandbox.sandbox_helpers import mint

    post_dispatch(sandbox, mint(app["id"], key_pair[0]))
    sandbox.advance(60)
    first = sandbox.deliveries()[0]
    assert first["status"] == "failed" and len(first["attempts"]) == 1
    dead = create_app(sandbox, key_pair[1], "http://127.0.0.1:9", name="nobody listens")
    post_dispatch(sandbox, mint(dead["id"], key_pair[0]))
    sandbox.advance(20)
    refused = next(d for d in sandbox.deliveries() if d["url"].startswith("http://127.0.0.1:9/"))
    assert refused["status"] == "pending" and len(refused["attempts"]) == 3
    assert refused["attempts"][0]["status_code"] is None and refused["attempts"][0]["error"]


def test_no_status_url_is_recorded(sandbox, key_pair):
    app = create_app(sandbox, key_pair[1])
    from tests.sandbox.sandbox_helpers import mint

    post_dispatch(sandbox, mint(app["id"], key_pair[0]))
    (delivery,) = sandbox.deliveries()
    assert delivery["status"] == "no_url" and delivery["attempts"] == []


def test_webhooks_without_a_url_are_listed_with_the_others_in_order(
    sandbox, collector, app_with_key, key_pair
):
    from tests.sandbox.sandbox_helpers import mint

    silent = create_app(sandbox, key_pair[1], name="no webhooks")
    quiet = post_dispatch(sandbox, mint(silent["id"], key_pair[0])).json()["dispatch_uuid"]
    heard = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(700)
    collector.wait(5, "/status")
    listed = sandbox.deliveries()
    assert [d["id"] for d in listed] == sorted(d["id"] for d in listed)
    assert [d["status"] for d in listed if d["dispatch_uuid"] == quiet] == ["no_url"] * 5
    assert {d["status"] for d in listed if d["dispatch_uuid"] == heard} == {"delivered"}
    final = sandbox.deliveries(dispatch_uuid=quiet)[-1]
    assert final["kind"] == "final_report" and final["body"]["dispatch_uuid"] == quiet and final["url"] == ""
    assert {d["dispatch_uuid"] for d in sandbox.deliveries(status="no_url")} == {quiet}
    assert sandbox.deliveries(dispatch_uuid=heard, status="no_url") == []
    timeline = requests.get(f"{sandbox.url}/_sandbox/dispatches/{quiet}", auth=basic(sandbox), timeout=10).json()
    assert [d["status"] for d in timeline["deliveries"]] == ["no_url"] * 5


def test_only_the_latest_webhooks_without_a_url_are_kept(monkeypatch):
    from fbfailover.sandbox import records
    from fbfailover.sandbox.catalog import Accounts
    from fbfailover.sandbox.storage import Database

    monkeypatch.setattr(records, "UNSENT_KEPT", 3)
    db = Database(":memory:")
    rows = records.Records(db)
    account = Accounts(db).primary()
    ids = [rows.add_unsent(account.id, {"dispatch_uuid": None, "status": "no_url"}, {"n": n}) for n in range(5)]
    real = rows.add_delivery(account.id, {"dispatch_uuid": None, "status": "pending"}, b"{}")
    db.commit()
    listed = rows.deliveries(account.id)
    assert [d["id"] for d, _ in listed] == [*ids[2:], real]
    assert [json.loads(body) for _, body in listed[:3]] == [{"n": 2}, {"n": 3}, {"n": 4}]
    assert [d["id"] for d, _ in rows.deliveries(account.id, limit=2)] == [ids[4], real]
    assert db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0] == 1
    db.close()


def test_inbound_gives_the_learner_the_ids(sandbox, collector, app_with_key):
    result = sandbox.inbound("messenger", text="hello", application_id=app_with_key["id"])
    hit = collector.wait(1, "/inbound")[0]
    body = hit.json()
    assert body["from"]["type"] == "messenger" and body["from"]["id"] == result["from"]["id"]
    assert body["to"]["id"] == result["to"]["id"] and body["message"]["content"] == {"type": "text", "text": "hello"}
    assert result["delivered_to"] == f"{collector.url}/inbound"
    claims = jwt.decode(hit.headers["Authorization"].split()[1], SIGNATURE_SECRET, algorithms=["HS256"])
    assert claims["application_id"] == app_with_key["id"]
    chosen = sandbox.inbound("messenger", from_=PSID, to=PAGE, application_id=app_with_key["id"])
    assert chosen["from"] == {"type": "messenger", "id": PSID} and chosen["to"] == {"type": "messenger", "id": PAGE}
    sms = sandbox.inbound(
        "sms", from_="447700900001", to="447700900000", text="STOP", application_id=app_with_key["id"]
    )
    assert sms["from"] == {"type": "sms", "number": "447700900001"}


def test_inbound_without_application_goes_to_the_account_mo_url(sandbox, collector, app_with_key):
    """A page or number linked to no application: Vonage uses the account-level inbound webhook. A Messenger
    message keeps the Messages shape there; an SMS comes in the SMS API's format (its spec's inbound-sms webhook:
    ``msisdn``, ``to``, ``messageId``, ``text``, ``type``, ``keyword``, ``message-timestamp``), signed with ``sig``
    (the account's signature secret) instead of a JWT."""
    from fbfailover.webhooks.signature import verify_sms_signature

    requests.post(f"{sandbox.url}/account/settings", params={"moCallBackUrl": f"{collector.url}/mo"},
                  auth=basic(sandbox), timeout=10)
    result = sandbox.inbound("sms", from_="447700900001", to="447700900000", text="Stop all messages")
    assert result["delivered_to"] == f"{collector.url}/mo" and result["application_id"] is None
    assert result["webhook_version"] == "sms"
    (hit,) = collector.wait(1, "/mo")
    body = hit.json()
    assert set(body) == {"msisdn", "to", "messageId", "text", "type", "keyword", "message-timestamp", "api-key",
                         "timestamp", "nonce", "sig"}
    assert (body["msisdn"], body["to"], body["text"]) == ("447700900001", "447700900000", "Stop all messages")
    assert body["type"] == "text" and body["keyword"] == "STOP" and body["api-key"] == sandbox.api_key
    assert body["messageId"] == result["message_uuid"]
    assert datetime.strptime(body["message-timestamp"], "%Y-%m-%d %H:%M:%S")
    assert all(isinstance(v, str) for v in body.values())
    assert "Authorization" not in hit.headers
    assert verify_sms_signature(body, SIGNATURE_SECRET) == "sha256"
    messenger = sandbox.inbound("messenger", text="hi")
    assert messenger["webhook_version"] == "v0.1"
    assert collector.wait(2, "/mo")[-1].json()["message"]["content"]["text"] == "hi"


def test_control_validation(sandbox):
    with pytest.raises(RuntimeError, match="outcome"):
        sandbox.set_recipient("messenger", PSID, "seen")
    with pytest.raises(RuntimeError, match="sms never reports read"):
        sandbox.set_recipient("sms", "447700900001", "read")
    with pytest.raises(RuntimeError, match="error_code"):
        sandbox.set_recipient("messenger", PSID, "rejected", error_code=42)
    with pytest.raises(RuntimeError, match="channel"):
        sandbox.set_recipient("pigeon", PSID, "delivered")
    with pytest.raises(RuntimeError, match="seconds"):
        sandbox.advance(-1)
    with pytest.raises(RuntimeError, match="404"):
        sandbox.dispatch("nope")
    with pytest.raises(RuntimeError, match="application_id"):
        sandbox.inbound("messenger", application_id="nope")
    assert sandbox.set_recipient("messenger", "*", "read", after=10)["id"] == "*"
    assert sandbox.set_recipient("messenger", PSID, "delivered")["outcome"] == "delivered"
    assert sandbox.reset_recipients() == 2
    assert sandbox.reset_recipients() == 0
    assert sandbox.clock()["mode"] == "manual"
    response = requests.put(f"{sandbox.url}/_sandbox/recipients/sms/1", data="x", timeout=10)  # no Content-Type: 415
    assert response.status_code == 415 and response.headers["Content-Type"] == "application/json"


def test_wildcard_recipient_rule(sandbox, collector, app_with_key):
    sandbox.set_recipient("messenger", "*", "read", after=20)
    dispatch_uuid = post_dispatch(sandbox, app_with_key["token"]).json()["dispatch_uuid"]
    sandbox.advance(30)
    assert sandbox.dispatch(dispatch_uuid)["status"] == "completed"
