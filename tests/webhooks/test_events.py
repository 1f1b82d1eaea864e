"""Classification and field extraction, without a server."""

from __future__ import annotations

import datetime as dt

import pytest

from fbfailover.webhooks import classify, make_event, parse_timestamp
from tests.webhooks.webhook_helpers import DISPATCH, INBOUND, MSG_FB, final_report_body, status_body


@pytest.mark.parametrize("route", ["/webhooks/inbound", "/webhooks/status", "/webhooks/delivery-receipt"])
def test_shape_decides_over_route(route):
    assert classify(route, status_body()) == "status"
    assert classify(route, final_report_body()) == "final_report"
    assert classify(route, INBOUND) == "inbound"


def test_unknown_shape_falls_back_on_route():
    assert classify("/webhooks/status", {"hello": 1}) == "status"
    assert classify("/webhooks/delivery-receipt", {}) == "status"
    assert classify("/webhooks/inbound-sms", {}) == "inbound"
    assert classify("/webhooks/inbound", "not an object") == "inbound"


def test_dispatch_status_fields():
    event = make_event("/webhooks/status", status_body(
        "rejected", error={"code": 1300, "reason": "Not part of the provider network"}))
    assert event.kind == "status"
    assert event.channel == "messenger"
    assert event.status == "rejected"
    assert event.message_uuid == MSG_FB
    assert event.dispatch_uuid == DISPATCH
    assert event.error == {"code": 1300, "reason": "Not part of the provider network"}
    assert event.workflow_id is None
    assert event.time == dt.datetime(2018, 10, 19, 11, 33, 7, 118000, tzinfo=dt.timezone.utc)


def test_spec_era_workflow_link():
    body = status_body(dispatch_uuid=None, _links={"workflow": {"dispatch_uuid": DISPATCH, "href": "/x"}})
    assert make_event("/webhooks/status", body).dispatch_uuid == DISPATCH
    preview = status_body(dispatch_uuid=None, _links={"workflow": {"workflow_uuid": "w-1"}})
    assert make_event("/webhooks/status", preview).dispatch_uuid == "w-1"


def test_v1_status_with_workflow():
    body = {"message_uuid": MSG_FB, "to": "447700900000", "from": "447700900001",
            "timestamp": "2025-08-13T10:00:05Z", "status": "rejected", "channel": "messenger",
            "error": {"type": "https://developer.nexmo.com/api-errors/messages#1300", "title": 1300,
                      "detail": "Not part of the provider network"},
            "workflow": {"id": "3TcNjgu", "item_number": 1, "items_total": 2}}
    event = make_event("/webhooks/status", body)
    assert (event.kind, event.channel, event.status, event.workflow_id) == ("status", "messenger", "rejected",
                                                                             "3TcNjgu")
    assert event.error["title"] == 1300
    assert event.dispatch_uuid is None


def test_final_report_fields():
    event = make_event("/webhooks/status", final_report_body())
    assert event.kind == "final_report"
    assert event.channel is None
    assert event.status == "completed"
    assert event.dispatch_uuid == DISPATCH
    assert event.message_uuid is None


def test_inbound_fields():
    event = make_event("/webhooks/inbound", INBOUND)
    assert (event.kind, event.channel, event.status) == ("inbound", "messenger", None)
    assert event.message_uuid == INBOUND["message_uuid"]


def test_sms_api_webhooks():
    inbound = make_event("/webhooks/inbound-sms", {"msisdn": "447700900001", "to": "447700900000",
                                                   "messageId": "0A0000000123ABCD1", "text": "Hi",
                                                   "type": "text",
                                                   "message-timestamp": "2020-01-01 12:00:00"})
    assert (inbound.kind, inbound.channel, inbound.message_uuid) == ("inbound", "sms", "0A0000000123ABCD1")
    assert inbound.time == dt.datetime(2020, 1, 1, 12, tzinfo=dt.timezone.utc)
    receipt = make_event("/webhooks/delivery-receipt", {"msisdn": "447700900001", "messageId": "0A01",
                                                        "status": "failed", "err-code": "6"})
    assert (receipt.kind, receipt.channel, receipt.status, receipt.error) == ("status", "sms", "failed",
                                                                              {"code": "6"})


def test_dedupe_keys():
    a = make_event("/webhooks/status", status_body("delivered"))
    b = make_event("/webhooks/status", status_body("delivered"))
    later = make_event("/webhooks/status", status_body("delivered", timestamp="2018-10-19T11:34:00.000Z"))
    assert a.key == b.key
    assert a.key != later.key
    assert make_event("/x", final_report_body()).key == make_event("/x", final_report_body()).key
    assert make_event("/webhooks/status", {"a": 1}).key == make_event("/webhooks/status", {"a": 1}).key
    assert make_event("/webhooks/status", {}).key is None


def test_parse_timestamp_rejects_garbage():
    assert parse_timestamp("yesterday") is None
    assert parse_timestamp(None) is None
    assert parse_timestamp("2018-10-19T11:33:07+01:00").utcoffset() == dt.timedelta(hours=1)
