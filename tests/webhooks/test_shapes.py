"""Reading webhook bodies of every shape: Messages v0.1 / Dispatch, Messages API v1, SMS API."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from fbfailover.webhooks import make_event, shapes
from tests.webhooks.webhook_helpers import (
    DISPATCH,
    INBOUND,
    INBOUND_SMS_V1,
    INBOUND_V1,
    MSG_FB,
    PAGE_ID,
    PSID,
    final_report_body,
    status_body,
    status_v1,
)

SMS_INBOUND = {"msisdn": "447700900001", "to": "447700900000", "messageId": "0A0000000123ABCD1", "text": "Hi",
               "type": "text", "keyword": "HI", "api-key": "abcd1234", "message-timestamp": "2020-01-01 12:00:00"}
SMS_RECEIPT = {"msisdn": "447700900001", "to": "447700900000", "network-code": "23410",
               "messageId": "0A0000000123ABCD1", "price": "0.03330000", "status": "delivered", "scts": "2001011400",
               "err-code": "0", "api-key": "abcd1234", "message-timestamp": "2020-01-01 12:00:00"}
SMS_V01_INBOUND = {"message_uuid": "dddddddd-eeee-ffff-aaaa-0123456789ab", "timestamp": "2021-04-01T10:00:00.000Z",
                   "to": {"type": "sms", "number": "447700900000"}, "from": {"type": "sms", "number": "447700900001"},
                   "message": {"content": {"type": "text", "text": "Hi"}, "sms": {"num_messages": "1"}},
                   "usage": {"currency": "EUR", "price": "0.0333"}}


@pytest.mark.parametrize(("body", "version", "channel", "sender", "recipient", "text"), [
    (INBOUND, "v0.1", "messenger", "2222222222222222", "1111111111111111", "Hello from Facebook Messenger!"),
    (INBOUND_V1, "v1", "messenger", PSID, PAGE_ID, "Hello from Facebook Messenger!"),
    (SMS_V01_INBOUND, "v0.1", "sms", "447700900001", "447700900000", "Hi"),
    (INBOUND_SMS_V1, "v1", "sms", "447700900001", "447700900000", "Hi"),
    (SMS_INBOUND, "sms", "sms", "447700900001", "447700900000", "Hi"),
])
def test_inbound_of_every_shape(body, version, channel, sender, recipient, text):
    assert shapes.version(body) == version
    event = make_event("/webhooks/inbound", body)
    assert (event.kind, event.version, event.channel) == ("inbound", version, channel)
    assert (event.sender_id, event.recipient_id, event.text) == (sender, recipient, text)
    assert event.message_uuid == shapes.message_uuid(body) and event.message_uuid


@pytest.mark.parametrize(("body", "version", "channel", "sender", "recipient"), [
    (status_body("delivered"), "v0.1", "messenger", "1234567890123456", "1234567890123456"),
    (status_body("delivered", channel="sms"), "v0.1", "sms", "447700900001", "447700900001"),
    (status_v1("delivered"), "v1", "messenger", PAGE_ID, PSID),
    (status_v1("delivered", channel="sms"), "v1", "sms", "447700900000", "447700900001"),
    (SMS_RECEIPT, "sms", "sms", "447700900000", "447700900001"),
])
def test_status_of_every_shape(body, version, channel, sender, recipient):
    event = make_event("/webhooks/status", body)
    assert (event.kind, event.version, event.channel, event.status) == ("status", version, channel, "delivered")
    assert (event.sender_id, event.recipient_id, event.text) == (sender, recipient, None)


def test_dispatch_status_and_final_report():
    status = make_event("/webhooks/status", status_body())
    assert (status.dispatch_uuid, status.workflow_id, status.item_number) == (DISPATCH, None, None)
    report = make_event("/webhooks/status", final_report_body())
    assert report.kind == "final_report" and report.version == "v0.1"
    assert (report.channel, report.sender_id, report.recipient_id) == (None, None, None)
    assert [m["channel"] for m in shapes.report_messages(report.body)] == ["messenger", "sms"]
    assert shapes.report_messages({"_links": {"messages": "nope"}}) == []


@pytest.mark.parametrize("workflow", [
    {"id": "3TcNjgu", "item_number": 2, "items_total": 2},
    {"id": "3TcNjgu", "item_number": "2", "items_total": "2"},  # numbers as strings (Java SDK fixtures)
    {"id": "3TcNjgu", "item_number": 2, "total_items": 2},  # the other spelling
    {"id": "3TcNjgu", "item_number": " 2 ", "total_items": "2"},
])
def test_workflow_position_in_either_spelling_and_type(workflow):
    event = make_event("/webhooks/status", status_v1("rejected", workflow=workflow))
    assert (event.workflow_id, event.item_number, event.items_total) == ("3TcNjgu", 2, 2)
    assert shapes.workflow_position(event.body) == shapes.WorkflowPosition("3TcNjgu", 2, 2)


def test_unreadable_positions_are_none_not_errors():
    odd = shapes.workflow_position({"workflow": {"id": 7, "item_number": "first", "items_total": True}})
    assert odd == ("7", None, None)
    assert shapes.workflow_position({"workflow": "3TcNjgu"}) is None
    assert shapes.workflow_position(["not", "a", "body"]) is None


@pytest.mark.parametrize("body", [None, "text", [], {}, {"hello": 1}, {"to": {"type": "messenger"}, "from": []}])
def test_odd_bodies_read_as_nothing(body):
    for read in (shapes.channel, shapes.sender_id, shapes.recipient_id, shapes.text, shapes.message_uuid,
                 shapes.status, shapes.dispatch_uuid, shapes.timestamp, shapes.error):
        assert read(body) is None or read is shapes.channel, read.__name__
    event = make_event("/webhooks/inbound", body)
    assert event.sender_id is None and event.item_number is None


def test_v1_error_is_kept_whole():
    error = {"type": "https://developer.nexmo.com/api-errors/messages#1300", "title": 1300,
             "detail": "Not part of the provider network", "instance": "x"}
    event = make_event("/webhooks/status", status_v1("rejected", error=error))
    assert event.error == error and event.message_uuid == MSG_FB


@pytest.mark.parametrize("body", [
    {"error": {"code": 1300, "reason": "Not part of the provider network"}},
    {"error": {"type": "https://developer.vonage.com/api-errors/messages#1300", "title": 1300, "detail": "x"}},
    {"error": {"type": "https://developer.nexmo.com/api-errors/messages#1300", "title": "1300", "detail": "x"}},
    {"error": {"type": "https://developer.nexmo.com/api-errors/messages#1300", "detail": "x"}},
    {"msisdn": "447700900001", "err-code": "1300", "status": "failed"},
])
def test_error_code_in_every_shape_and_either_error_host(body):
    """The problem ``type`` host is developer.vonage.com in the sandbox and in Vonage's current errors, and
    developer.nexmo.com in Vonage's Java SDK tests: the code is read from either."""
    from fbfailover.webhooks.shapes import error_code

    assert error_code(body) == 1300


def test_error_code_is_none_without_an_error():
    from fbfailover.webhooks.shapes import error_code

    assert error_code({"status": "delivered"}) is None and error_code(None) is None
    assert error_code({"error": {"type": "https://developer.vonage.com/api-errors", "title": "Throttled"}}) is None


class _Frozen(Mapping):
    """A read-only mapping that is not a dict: the shapes are read from any ``Mapping``, not from dicts only."""

    def __init__(self, data):
        self._data = {k: _Frozen(v) if isinstance(v, dict) else v for k, v in data.items()}

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)


_READERS = ("version", "channel", "sender_id", "recipient_id", "text", "status", "message_uuid", "dispatch_uuid",
            "timestamp", "error")
_EVERY_SHAPE = [INBOUND, INBOUND_V1, SMS_V01_INBOUND, INBOUND_SMS_V1, SMS_INBOUND, SMS_RECEIPT, status_body(),
                status_body("delivered", channel="sms"), status_v1("rejected", workflow={"id": "w", "item_number": 2,
                                                                                        "items_total": "2"}),
                final_report_body(), {"msisdn": "447700900001", "err-code": "1300", "status": "failed"},
                {"status": 7, "message_uuid": 12, "to": {"type": "", "id": ""}, "channel": ""},
                None, "text", [], {}, {"hello": 1}, {"to": {"type": "messenger"}, "from": []}]


@pytest.mark.parametrize("body", _EVERY_SHAPE)
def test_fields_reads_what_each_function_reads_from_a_dict_or_any_mapping(body):
    expected = {name: getattr(shapes, name)(body) for name in _READERS}
    expected["workflow"] = shapes.workflow_position(body)
    assert shapes.fields(body)._asdict() == expected
    if isinstance(body, dict):
        assert shapes.fields(_Frozen(body))._asdict() == expected
