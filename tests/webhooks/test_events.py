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


def _v1(item, status, total=2, *, spelling="items_total", as_text=False):
    """A v1 status event of a two-message failover workflow."""
    from tests.webhooks.webhook_helpers import status_v1

    value = (lambda n: str(n)) if as_text else (lambda n: n)
    workflow = {"id": "wf-1", "item_number": value(item), spelling: value(total)}
    return make_event("/webhooks/status", status_v1(status, message_uuid=f"m{item}", workflow=workflow,
                                                    channel="messenger" if item == 1 else "sms"))


@pytest.mark.parametrize("spelling", ["items_total", "total_items"])
@pytest.mark.parametrize("as_text", [False, True])
def test_v1_outcome_reads_both_spellings_and_types(spelling, as_text):
    from fbfailover.webhooks import v1_outcome

    def ev(item, status):
        return _v1(item, status, spelling=spelling, as_text=as_text)

    assert v1_outcome([ev(1, "submitted"), ev(1, "rejected"), ev(2, "submitted")]) is None
    assert v1_outcome([ev(1, "submitted"), ev(1, "rejected"), ev(2, "delivered")]) == "delivered"
    assert v1_outcome([ev(1, "rejected"), ev(2, "undeliverable")]) == "failed"


def test_v1_a_rejection_needs_no_submitted_before_it():
    from fbfailover.webhooks import v1_outcome

    assert v1_outcome([_v1(1, "rejected"), _v1(2, "submitted"), _v1(2, "delivered")]) == "delivered"
    assert v1_outcome([_v1(1, "undeliverable"), _v1(2, "rejected")]) == "failed"
    assert v1_outcome([_v1(1, "read")]) == "delivered"


def test_v1_statuses_in_any_order_give_one_outcome():
    import itertools

    from fbfailover.webhooks import v1_outcome

    events = [_v1(1, "submitted"), _v1(1, "rejected"), _v1(2, "submitted"), _v1(2, "delivered")]
    for order in itertools.permutations(events):
        assert v1_outcome(list(order)) == "delivered"
    assert v1_outcome([_v1(2, "delivered"), _v1(2, "submitted")]) is None  # item 1's result is not in yet
    assert v1_outcome([_v1(2, "undeliverable"), _v1(1, "rejected")]) == "failed"


def test_v1_without_a_total_settles_only_on_a_delivery():
    from fbfailover.webhooks import v1_items, v1_outcome

    def bare(item, status):
        return make_event("/webhooks/status", {"message_uuid": f"m{item}", "status": status, "channel": "sms",
                                               "to": "447700900001", "from": "447700900000",
                                               "workflow": {"id": "wf", "item_number": item}})

    assert v1_outcome([bare(1, "rejected")]) is None  # a second message may follow
    assert v1_outcome([bare(1, "rejected"), bare(2, "delivered")]) == "delivered"
    assert v1_items([bare(1, "rejected"), bare(2, "delivered")]) == ({1: {"rejected"}, 2: {"delivered"}}, None)
    assert v1_outcome([make_event("/webhooks/status", status_body("delivered"))]) is None  # no workflow


def test_v1_an_undeliverable_message_ends_the_workflow():
    """v1 fails over only on rejected: an undeliverable first message settles the workflow as failed."""
    from fbfailover.webhooks import v1_outcome

    assert v1_outcome([_v1(1, "submitted"), _v1(1, "undeliverable")]) == "failed"
    assert v1_outcome([_v1(1, "submitted"), _v1(1, "rejected")]) is None  # the SMS is on its way
