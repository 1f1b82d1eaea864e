"""SMS API ``sig`` signatures and the JWT ``api_key`` claim, as functions and over HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from fbfailover import webhooks
from fbfailover.webhooks.signature import (
    SMS_SIGNATURE_METHODS,
    SignatureError,
    sms_signature,
    verify_signed_webhook,
    verify_sms_signature,
)
from tests.webhooks.webhook_helpers import INBOUND, SECRET, post, sign, status_body

NOW = 1_700_000_000
INBOUND_SMS = {"msisdn": "447700900001", "to": "447700900000", "messageId": "0A0000000123ABCD1",
               "text": "Hi & bye = ok", "type": "text", "keyword": "HI", "api-key": "abcd1234",
               "message-timestamp": "2023-11-14 22:13:20"}
RECEIPT = {"msisdn": "447700900001", "to": "447700900000", "network-code": "23410",
           "messageId": "0A0000000123ABCD1", "price": "0.03330000", "status": "delivered", "scts": "2311142213",
           "err-code": "0", "api-key": "abcd1234", "message-timestamp": "2023-11-14 22:13:20"}


def signed(params: dict, method: str = "md5hash", *, timestamp: float | None = None, secret: str = SECRET) -> dict:
    """``params`` with ``timestamp`` and the ``sig`` Vonage would add."""
    out = {**params, "timestamp": str(int(time.time() if timestamp is None else timestamp))}
    out["sig"] = sms_signature(out, secret, method)
    return out


def test_md5hash_matches_the_published_sdk_vector():
    # the example the Vonage Python SDK's tests use: a=1, b=2, timestamp=1461605396, secret "secret"
    params = {"a": "1", "b": "2", "timestamp": "1461605396"}
    assert sms_signature(params, "secret") == "6af838ef94998832dbfc29020b564830"
    assert verify_sms_signature({**params, "sig": "6AF838EF94998832DBFC29020B564830"}, "secret",
                                now=1461605396) == "md5hash"


@pytest.mark.parametrize("method", SMS_SIGNATURE_METHODS)
def test_each_method_verifies_and_is_told_apart(method):
    params = signed(INBOUND_SMS, method, timestamp=NOW)
    assert verify_sms_signature(params, SECRET, now=NOW) == method
    assert verify_sms_signature(params, SECRET, methods=(method,), now=NOW) == method
    others = tuple(m for m in SMS_SIGNATURE_METHODS if m != method)
    with pytest.raises(SignatureError, match="matches none"):
        verify_sms_signature(params, SECRET, methods=others, now=NOW)


def test_values_with_ampersands_and_equals_are_signed_with_underscores():
    a = sms_signature({"text": "a&b=c", "timestamp": "1"}, SECRET, "sha256")
    assert a == sms_signature({"text": "a_b_c", "timestamp": "1"}, SECRET, "sha256")
    with pytest.raises(ValueError, match="unknown SMS signature method"):
        sms_signature({}, SECRET, "sha3")


@pytest.mark.parametrize(("change", "reason"), [
    (lambda p: {**p, "sig": "0" * 32}, "matches none"),
    (lambda p: {**p, "text": "tampered"}, "matches none"),
    (lambda p: {k: v for k, v in p.items() if k != "sig"}, "no sig"),
])
def test_a_wrong_or_missing_sig_is_refused(change, reason):
    with pytest.raises(SignatureError, match=reason):
        verify_sms_signature(change(signed(INBOUND_SMS, timestamp=NOW)), SECRET, now=NOW)
    with pytest.raises(SignatureError, match="matches none"):
        verify_sms_signature(signed(INBOUND_SMS, timestamp=NOW, secret="another"), SECRET, now=NOW)


def test_the_timestamp_window():
    assert verify_sms_signature(signed(RECEIPT, timestamp=NOW - 299), SECRET, now=NOW)
    with pytest.raises(SignatureError, match="stale timestamp"):
        verify_sms_signature(signed(RECEIPT, timestamp=NOW - 301), SECRET, now=NOW)
    with pytest.raises(SignatureError, match="in the future"):
        verify_sms_signature(signed(RECEIPT, timestamp=NOW + 61), SECRET, now=NOW)
    no_time = {**RECEIPT}
    no_time["sig"] = sms_signature(no_time, SECRET)
    with pytest.raises(SignatureError, match="no numeric timestamp"):
        verify_sms_signature(no_time, SECRET, now=NOW)


def test_the_jwt_api_key_claim_must_name_the_account():
    body = b'{"a":1}'
    assert verify_signed_webhook(sign(body), body, SECRET, api_key="abcd1234")["api_key"] == "abcd1234"
    with pytest.raises(SignatureError, match="signed for API key 'abcd1234', not this account's 'other999'"):
        verify_signed_webhook(sign(body), body, SECRET, api_key="other999")


# -- over HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
def sms_receiver():
    with webhooks.Receiver(signature_secret=SECRET, api_key="abcd1234") as r:
        yield r


@pytest.mark.parametrize("method", SMS_SIGNATURE_METHODS)
@pytest.mark.parametrize("where", ["query", "form", "json"])
def test_a_signed_sms_callback_is_verified(sms_receiver, method, where):
    params = signed(INBOUND_SMS, method)
    url = sms_receiver.inbound_sms_url
    if where == "query":
        response = requests.get(url, params=params, timeout=5)
    elif where == "form":
        response = requests.post(url, data=params, timeout=5)
    else:
        response = requests.post(url, json=params, timeout=5)
    assert response.status_code == 200, response.text
    [event] = sms_receiver.events()
    assert (event.kind, event.channel, event.signature, event.verified) == ("inbound", "sms", "verified", True)
    assert event.text == "Hi & bye = ok" and event.sender_id == "447700900001"


def test_a_sig_in_the_query_string_covers_a_form_body_too(sms_receiver):
    params = signed(RECEIPT, "sha512")
    sig, rest = params.pop("sig"), params
    response = requests.post(sms_receiver.delivery_receipt_url, params={"sig": sig}, data=rest, timeout=5)
    assert response.status_code == 200
    assert sms_receiver.events()[0].signature == "verified"


@pytest.mark.parametrize(("params", "reason"), [
    ({**signed(RECEIPT), "sig": "f" * 32}, "matches none"),
    (signed(RECEIPT, timestamp=time.time() - 3600), "stale timestamp"),
])
def test_a_bad_sms_signature_is_refused(sms_receiver, params, reason):
    response = requests.post(sms_receiver.delivery_receipt_url, data=params, timeout=5)
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert sms_receiver.events() == [] and reason in sms_receiver.rejections[0].reason


def test_an_unsigned_sms_callback_is_accepted_but_marked_unverified(sms_receiver):
    from fbfailover.widgets import EventFeed

    response = requests.post(sms_receiver.inbound_sms_url, data=INBOUND_SMS, timeout=5)
    assert response.status_code == 200
    [event] = sms_receiver.events()
    assert (event.signature, event.verified) == ("unverified", False)
    assert any("unsigned SMS API callback" in n for n in sms_receiver.notices)
    feed = EventFeed([event])
    assert repr(feed) == "EventFeed: 1 event (inbound 1), 1 unverified"
    assert "inbound ⚠ unverified" in feed.html()


def test_unsigned_sms_callbacks_can_be_required_signed():
    with webhooks.Receiver(signature_secret=SECRET, require_sms_signature=True) as r:
        response = requests.post(r.inbound_sms_url, data=INBOUND_SMS, timeout=5)
        assert response.status_code == 401 and "signed SMS webhooks are required" in response.json()["detail"]
        assert requests.post(r.inbound_sms_url, data=signed(INBOUND_SMS), timeout=5).status_code == 200


def test_the_application_routes_still_require_a_jwt(sms_receiver):
    assert post(sms_receiver.status_url, status_body()).status_code == 503  # unsigned: retried, never stored
    assert post(sms_receiver.inbound_url, INBOUND, secret=SECRET).status_code == 200
    assert requests.post(sms_receiver.status_url, data=signed(RECEIPT), timeout=5).status_code == 503  # no JWT
    assert [e.route for e in sms_receiver.events()] == ["/webhooks/inbound"]  # only the signed one is stored


def test_a_jwt_on_an_sms_route_is_checked_as_a_jwt(sms_receiver):
    assert post(sms_receiver.inbound_sms_url, INBOUND, secret=SECRET).status_code == 200
    assert sms_receiver.events()[0].signature == "verified"
    assert post(sms_receiver.inbound_sms_url, INBOUND, secret="another-signature-secret-0123456789").status_code == 401


def test_a_jwt_of_another_api_key_is_refused(sms_receiver):
    response = post(sms_receiver.status_url, status_body(), secret=SECRET, api_key="other999")
    assert response.status_code == 401
    assert "not this account's 'abcd1234'" in response.json()["detail"]
    assert sms_receiver.events() == []
    assert post(sms_receiver.status_url, status_body(), secret=SECRET).status_code == 200
