"""Builders and validation rules of the request bodies, and the curl twin of a request."""

from __future__ import annotations

import json
import shlex

import pytest

from fbfailover import channels
from fbfailover.errors import ValidationError
from fbfailover.payloads import (
    Request,
    account_settings_body,
    application_body,
    failover_condition,
    failover_workflow,
    message_v01,
    message_v1,
    messenger_item,
    sms_item,
    to_curl,
    tutorial_workflow,
)
from fbfailover.validation import (
    CONDITION_STATUSES,
    DISPATCH_CHANNELS,
    EXPIRY_RANGE,
    TEXT_LIMITS,
    V1_CHANNELS,
    validate_message_v1,
    validate_phone_number,
    validate_workflow,
)

PAGE, PSID, FROM, TO = "107083064136738", "2304955562948713", "447700900000", "447700900001"
PLUS = "must be digits only in E.164 form without a leading '+'; use 447700900000"
LENGTH = "must be 7 to 15 digits in E.164 form (country code first, no '+' or '00'), e.g. 447700900000; got "
PEM = "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"


def problems(call, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        call(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    return info.value.fields


def tutorial(**changes):
    kwargs = {"from_number": FROM, "to_number": TO, "fb_sender_id": PAGE, "fb_recipient_id": PSID}
    return tutorial_workflow(**{**kwargs, **changes})


# --- Dispatch -----------------------------------------------------------------------------------

def test_tutorial_workflow_has_the_documented_shape():
    body = tutorial(text_messenger="Hi via Messenger", text_sms="Hi via SMS")
    assert body == {"template": "failover", "workflow": [
        {"from": {"type": "messenger", "id": PAGE}, "to": {"type": "messenger", "id": PSID},
         "message": {"content": {"type": "text", "text": "Hi via Messenger"}},
         "failover": {"expiry_time": 600, "condition_status": "read"}},
        {"from": {"type": "sms", "number": FROM}, "to": {"type": "sms", "number": TO},
         "message": {"content": {"type": "text", "text": "Hi via SMS"}}},
    ]}
    assert validate_workflow(body) is body


def test_tutorial_workflow_reports_every_problem_at_once():
    found = problems(tutorial, from_number="+447700900000", to_number="12", fb_sender_id="",
                     fb_recipient_id="x" * 51, expiry_time=10, condition_status="seen", text_sms="",
                     text_messenger="m" * 641)
    assert found == {
        "workflow[0].from.id": "is required (1 to 50 characters)",
        "workflow[0].to.id": "must be at most 50 characters (got 51)",
        "workflow[0].message.content.text": "must be at most 640 characters on messenger (got 641)",
        "workflow[0].failover.expiry_time": "must be a whole number of seconds between 15 and 86400",
        "workflow[0].failover.condition_status": "must be 'delivered' or 'read'",
        "workflow[1].from.number": PLUS,
        "workflow[1].to.number": found["workflow[1].to.number"],
        "workflow[1].message.content.text": "is required (1 to 1000 characters)",
    }
    assert "7 to 15 digits" in found["workflow[1].to.number"]


def test_builders_compose_into_a_workflow():
    first = messenger_item(PAGE, PSID, "hello", failover=failover_condition(60, "delivered"))
    last = sms_item(FROM, TO, "hello again")
    body = failover_workflow([first, last])
    assert body["workflow"][0]["failover"] == {"expiry_time": 60, "condition_status": "delivered"}
    assert "failover" not in body["workflow"][1]


def test_failover_required_on_all_but_last_and_forbidden_on_last():
    found = problems(failover_workflow, [messenger_item(PAGE, PSID, "a"),
                                         sms_item(FROM, TO, "b", failover=failover_condition())])
    assert set(found) == {"workflow[0].failover", "workflow[1].failover"}
    assert "required on every message except the last" in found["workflow[0].failover"]
    assert "must not be set on the last message" in found["workflow[1].failover"]


def test_single_message_workflow_without_failover_is_valid():
    assert failover_workflow([sms_item(FROM, TO, "only")])["template"] == "failover"


@pytest.mark.parametrize("expiry", [15, 600, 86_400])
def test_expiry_time_bounds_valid(expiry):
    assert failover_condition(expiry)["expiry_time"] == expiry


@pytest.mark.parametrize("expiry", [14, 86_401, 0, -5, 600.0, True, "600", None])
def test_expiry_time_invalid(expiry):
    assert set(problems(failover_condition, expiry)) == {"failover.expiry_time"}


@pytest.mark.parametrize("status", ["submitted", "READ", "", None])
def test_condition_status_invalid(status):
    assert set(problems(failover_condition, 600, status)) == {"failover.condition_status"}


@pytest.mark.parametrize(("number", "reason"), [
    ("+447700900000", PLUS),
    ("00447700900000", "must be digits only in E.164 form without a leading '00'; use 447700900000"),
    ("44 7700 900000", PLUS),
    ("+44 (7700) 900-000", PLUS),
    ("123456", LENGTH + "6 digits"),
    ("1234567890123456", LENGTH + "16 digits"),
    ("07700900000", "must start with the country code instead of a leading 0, "
                    "e.g. 447700900000 for 07700 900000"),
    ("", "must be a phone number in E.164 form without a leading '+', e.g. 447700900000"),
    (447700900000, "must be a phone number in E.164 form without a leading '+', e.g. 447700900000"),
])
def test_phone_number_reasons(number, reason):
    assert problems(validate_phone_number, number, "to_number") == {"to_number": reason}


@pytest.mark.parametrize("number", ["1234567", "447700900000", "123456789012345"])
def test_phone_number_valid(number):
    assert validate_phone_number(number) == number


def test_ids_and_text_limits():
    assert messenger_item("p" * 50, "u", "m" * 640)["from"]["id"] == "p" * 50
    assert sms_item(FROM, TO, "s" * 1000)["message"]["content"]["text"] == "s" * 1000
    assert problems(messenger_item, "p" * 51, "  ", "") == {
        "from.id": "must be at most 50 characters (got 51)", "to.id": "is required (1 to 50 characters)",
        "message.content.text": "is required (1 to 640 characters)"}
    assert problems(sms_item, FROM, TO, "s" * 1001) == {
        "message.content.text": "must be at most 1000 characters on sms (got 1001)"}
    assert set(problems(sms_item, FROM, TO, None)) == {"message.content.text"}


def test_item_failover_is_checked_by_the_item_builder():
    assert set(problems(messenger_item, PAGE, PSID, "x", failover={"expiry_time": 1})) == {
        "failover.expiry_time", "failover.condition_status"}


@pytest.mark.parametrize(("body", "expected"), [
    (None, {"body"}),
    ([], {"body"}),
    ({"template": "broadcast", "workflow": []}, {"template", "workflow"}),
    ({"template": "failover"}, {"workflow"}),
    ({"template": "failover", "workflow": ["x"]}, {"workflow[0]"}),
    ({"template": "failover", "workflow": [{"to": {"type": "fax"}}]}, {"workflow[0].to.type"}),
    ({"template": "failover", "workflow": [{"to": {"type": "sms", "number": TO}}]},
     {"workflow[0].from", "workflow[0].message.content"}),
    ({"template": "failover", "workflow": [
        {"from": {"type": "messenger", "id": PAGE}, "to": {"type": "sms", "number": TO},
         "message": {"content": {"type": "text", "text": "x"}}}]}, {"workflow[0].from.type"}),
    ({"template": "failover", "workflow": [
        {"from": {"type": "sms", "number": FROM}, "to": {"type": "sms", "number": TO},
         "message": {"content": {"type": "image", "image": {"url": "https://x.test/a.png"}}}}]},
     {"workflow[0].message.content.type"}),
    ({"template": "failover", "workflow": [
        {"from": {"type": "messenger", "id": PAGE}, "to": {"type": "messenger", "id": PSID},
         "message": {"content": {"type": "image"}}}]}, {"workflow[0].message.content.image"}),
    ({"template": "failover", "workflow": [
        {"from": {"type": "messenger", "id": PAGE}, "to": {"type": "messenger", "id": PSID},
         "message": {"content": {"type": "text", "text": "x"}}, "failover": "soon"},
        {"from": {"type": "sms", "number": FROM}, "to": {"type": "sms", "number": TO},
         "message": {"content": {"type": "text", "text": "y"}}}]}, {"workflow[0].failover"}),
])
def test_validate_workflow_paths(body, expected):
    assert set(problems(validate_workflow, body)) == expected


def test_other_channels_of_the_general_form():
    viber = {"from": {"type": "viber_service_msg", "id": "16273"},
             "to": {"type": "viber_service_msg", "number": TO},
             "message": {"content": {"type": "text", "text": "v"}},
             "failover": failover_condition(30, "read")}
    whatsapp = {"from": {"type": "whatsapp", "number": FROM}, "to": {"type": "whatsapp", "number": TO},
                "message": {"content": {"type": "image", "image": {"url": "https://x.test/a.png"}}}}
    assert validate_workflow({"template": "failover", "workflow": [viber, whatsapp]})


# --- Messages API v0.1 and v1 ------------------------------------------------------------------------

def test_message_v01():
    assert message_v01("messenger", PAGE, PSID, "hi", client_ref="ref-1") == {
        "from": {"type": "messenger", "id": PAGE}, "to": {"type": "messenger", "id": PSID},
        "message": {"content": {"type": "text", "text": "hi"}}, "client_ref": "ref-1"}
    assert message_v01("sms", FROM, TO, "hi")["to"] == {"type": "sms", "number": TO}
    found = problems(message_v01, "sms", FROM, "+1", "hi", client_ref="r" * 41)
    assert set(found) == {"to.number", "client_ref"}
    assert set(problems(message_v01, "pigeon", FROM, TO, "hi")) == {"to.type"}


def test_message_v1_with_failover():
    sms = message_v1("sms", FROM, TO, "Hi via SMS")
    body = message_v1("messenger", PAGE, PSID, "Hi via Messenger", failover=[sms], client_ref="c")
    assert body == {"to": PSID, "from": PAGE, "channel": "messenger", "message_type": "text",
                    "text": "Hi via Messenger", "client_ref": "c", "webhook_version": "v1",
                    "failover": [{"to": TO, "from": FROM, "channel": "sms", "message_type": "text",
                                  "text": "Hi via SMS", "webhook_version": "v1"}]}
    assert message_v1("messenger", PAGE, PSID, "x", failover=sms)["failover"] == [sms]
    assert validate_message_v1(body) is body


def test_message_v1_pins_its_webhook_version_unless_told_not_to():
    assert "webhook_version" not in message_v1("sms", FROM, TO, "x", webhook_version=None)
    assert message_v1("sms", FROM, TO, "x", webhook_version="v0.1")["webhook_version"] == "v0.1"
    assert problems(message_v1, "sms", FROM, TO, "x", webhook_version="v2") == {
        "webhook_version": "must be one of: v0.1, v1"}


def test_message_v1_problems_include_failover_paths():
    bad_sms = {"to": "+447700900001", "from": FROM, "channel": "sms", "message_type": "text", "text": ""}
    nested = {**message_v1("sms", FROM, TO, "x"), "failover": [message_v1("sms", FROM, TO, "y")]}
    found = problems(message_v1, "messenger", PAGE, "", "m" * 641,
                     failover=[bad_sms, nested, {"channel": "fax"}], client_ref="r" * 101)
    assert set(found) == {"to", "text", "client_ref", "failover[0].to", "failover[0].text",
                          "failover[1].failover", "failover[2].channel"}
    assert found["failover[0].to"].endswith("use 447700900001")
    assert set(problems(validate_message_v1, {**message_v1("sms", FROM, TO, "x"), "failover": "sms"})) == {"failover"}
    assert set(problems(validate_message_v1, {"channel": "sms", "to": TO, "from": FROM,
                                              "message_type": "image"})) == {"message_type"}


# --- Channel facts from the table -----------------------------------------------------------------------

MMS_IMAGE = {"type": "image", "image": {"url": "https://x.test/a.png"}}


def test_exported_channel_facts_are_the_tables():
    assert {c.name: (c.to_kind, c.from_kind) for c in channels.CHANNELS if c.in_dispatch} == DISPATCH_CHANNELS
    assert list(V1_CHANNELS) == list(channels.MESSAGES_V1)
    assert all(TEXT_LIMITS[c.name] == TEXT_LIMITS[c.v1_name] == c.text_max for c in channels.CHANNELS)
    assert (CONDITION_STATUSES, EXPIRY_RANGE) == (channels.CONDITION_STATUSES, channels.EXPIRY_RANGE)


def test_mms_is_accepted_in_dispatch_with_an_image():
    mms = {"from": {"type": "mms", "number": FROM}, "to": {"type": "mms", "number": TO},
           "message": {"content": MMS_IMAGE}}
    assert validate_workflow({"template": "failover", "workflow": [mms]})
    text = {**mms, "message": {"content": {"type": "text", "text": "x"}}}
    found = problems(validate_workflow, {"template": "failover", "workflow": [text]})
    assert found == {"workflow[0].message.content.type": "must be one of: image on mms"}


@pytest.mark.parametrize("sender", ["Vonage", "ACME 2025", "V", "12345678901", "447700900000"])
def test_sms_sender_may_be_alphanumeric_in_every_api(sender):
    assert sms_item(sender, TO, "hi", failover=None)["from"] == {"type": "sms", "number": sender}
    assert message_v01("sms", sender, TO, "hi")["from"]["number"] == sender
    assert message_v1("sms", sender, TO, "hi")["from"] == sender
    assert failover_workflow([messenger_item(PAGE, PSID, "a", failover=failover_condition()),
                              sms_item(sender, TO, "b")])


@pytest.mark.parametrize(("sender", "reason"), [
    ("VonageAlerts", "must be at most 11 characters as an alphanumeric sender id (got 12), e.g. Vonage"),
    ("Vonage!", "must be an alphanumeric sender id: letters, digits and spaces only (at most 11), e.g. Vonage"),
    ("+447700900000", PLUS),
    ("123", LENGTH + "3 digits (or an alphanumeric sender id of at most 11 characters, e.g. Vonage)"),
])
def test_sms_sender_reasons(sender, reason):
    assert problems(sms_item, sender, TO, "hi") == {"from.number": reason}
    assert problems(message_v1, "sms", sender, TO, "hi") == {"from": reason}


@pytest.mark.parametrize("channel", ["whatsapp", "mms"])
def test_alphanumeric_sender_is_for_sms_only(channel):
    reason = "must be a phone number: an alphanumeric sender id such as this one is allowed on SMS only"
    body = {"to": TO, "from": "Vonage", "channel": channel, "message_type": "image", "image": {"url": "https://x.test"}}
    assert problems(validate_message_v1, body) == {"from": reason}
    item = {"from": {"type": channel, "number": "Vonage"}, "to": {"type": channel, "number": TO},
            "message": {"content": MMS_IMAGE}}
    assert problems(validate_workflow, {"template": "failover", "workflow": [item]}) == {
        "workflow[0].from.number": reason}


def test_viber_is_sent_to_a_number_from_an_id():
    assert message_v01("viber_service_msg", "16273", TO, "hi")["to"] == {"type": "viber_service_msg", "number": TO}
    assert message_v01("viber_service_msg", "16273", TO, "hi")["from"] == {"type": "viber_service_msg",
                                                                            "id": "16273"}
    assert message_v1("viber_service", "16273", TO, "hi")["to"] == TO
    found = problems(validate_workflow, {"template": "failover", "workflow": [
        {"from": {"type": "viber_service_msg", "number": FROM}, "to": {"type": "viber_service_msg", "id": PSID},
         "message": {"content": {"type": "text", "text": "v"}}}]})
    assert set(found) == {"workflow[0].from.id", "workflow[0].to.number"}
    assert set(problems(message_v1, "viber_service", "16273", "not-a-number", "hi")) == {"to"}


def test_rcs_exists_in_messages_v1_only():
    assert message_v1("rcs", "vonage-agent", TO, "r" * 3072)["channel"] == "rcs"
    assert problems(message_v1, "rcs", "vonage-agent", TO, "r" * 3073) == {
        "text": "must be at most 3072 characters on rcs (got 3073)"}
    assert set(problems(message_v01, "rcs", "vonage-agent", TO, "hi")) == {"to.type"}
    rcs = {"from": {"type": "rcs", "id": "agent"}, "to": {"type": "rcs", "number": TO},
           "message": {"content": {"type": "text", "text": "r"}}}
    assert set(problems(validate_workflow, {"template": "failover", "workflow": [rcs]})) == {"workflow[0].to.type"}


def test_v1_requests_vonage_takes_are_valid():
    """An empty failover list, a long one ("as many as required"), MMS text and file messages (Vonage's SDKs)."""
    sms = message_v1("sms", FROM, TO, "y")
    assert validate_message_v1({**message_v1("sms", FROM, TO, "x"), "failover": []})
    assert validate_message_v1({**message_v1("sms", FROM, TO, "x"), "failover": [sms] * 12})
    assert validate_message_v1({"to": TO, "from": FROM, "channel": "mms", "message_type": "text", "text": "hi"})
    assert validate_message_v1({"to": TO, "from": FROM, "channel": "mms", "message_type": "file",
                                "file": {"url": "https://x.test/menu.pdf"}})


def test_v1_media_message_needs_its_object():
    body = {"to": TO, "from": FROM, "channel": "mms", "message_type": "vcard"}
    assert problems(validate_message_v1, body) == {"vcard": "is required when message_type is vcard"}
    assert validate_message_v1({**body, "vcard": {"url": "https://x.test/c.vcf"}})


# --- Applications and account settings ----------------------------------------------------------------

def test_application_body():
    body = application_body("My app", "https://x.test/inbound", "http://127.0.0.1:9/status")
    assert body == {"name": "My app", "capabilities": {"messages": {"webhooks": {
        "inbound_url": {"address": "https://x.test/inbound", "http_method": "POST"},
        "status_url": {"address": "http://127.0.0.1:9/status", "http_method": "POST"}}, "version": "v1"}}}
    assert application_body("a", "https://x.test/i", "https://x.test/s", PEM)["keys"] == {"public_key": PEM}
    older = application_body("a", "https://x.test/i", "https://x.test/s", messages_version="v0.1")
    assert older["capabilities"]["messages"]["version"] == "v0.1"
    assert problems(application_body, "a", "https://x.test/i", "https://x.test/s", messages_version="v2") == {
        "capabilities.messages.version": "must be one of: v0.1, v1"}


def test_application_body_problems():
    found = problems(application_body, " ", "ftp://x.test/in", "/status",
                     public_key="-----BEGIN PRIVATE KEY-----")
    assert set(found) == {"name", "capabilities.messages.webhooks.inbound_url.address",
                          "capabilities.messages.webhooks.status_url.address", "keys.public_key"}


def test_account_settings_body():
    assert account_settings_body() == {}
    assert account_settings_body("https://x.test/in", "") == {"moCallBackUrl": "https://x.test/in",
                                                               "drCallBackUrl": ""}
    assert set(problems(account_settings_body, "x.test", "mailto:a@b")) == {"moCallBackUrl", "drCallBackUrl"}


# --- curl ---------------------------------------------------------------------------------------------

def test_to_curl_jwt_json_request():
    body = {"template": "failover", "workflow": [{"text": "it's"}]}
    req = Request("POST", "http://127.0.0.1:8765/v0.1/dispatch",
                  {"Content-Type": "application/json", "Accept": "application/json"}, json=body, auth="jwt")
    text = to_curl(req)
    assert text.splitlines()[:4] == ["curl -X POST http://127.0.0.1:8765/v0.1/dispatch \\",
                                     '  -H "Authorization: Bearer $JWT" \\',
                                     "  -H 'Content-Type: application/json' \\",
                                     "  -H 'Accept: application/json' \\"]
    words = shlex.split(text.replace("\\\n", " "))
    assert json.loads(words[words.index("-d") + 1]) == body


def test_to_curl_basic_get_with_params():
    req = Request("GET", "https://api.nexmo.com/v2/applications", {"Accept": "application/json"},
                  params={"page": 1, "page_size": 100}, auth="basic")
    assert to_curl(req) == ("curl 'https://api.nexmo.com/v2/applications?page=1&page_size=100' \\\n"
                            '  -u "$VONAGE_API_KEY:$VONAGE_API_SECRET" \\\n'
                            "  -H 'Accept: application/json'")
    assert to_curl(Request("DELETE", "https://api.nexmo.com/v2/applications/x", auth="basic")).startswith(
        "curl -X DELETE https://api.nexmo.com/v2/applications/x")


def test_to_curl_query_auth_form():
    req = Request("POST", "https://rest.nexmo.com/account/settings",
                  form={"moCallBackUrl": "https://x.test/a b"}, auth="query")
    assert to_curl(req).splitlines() == [
        'curl -X POST "https://rest.nexmo.com/account/settings'
        '?api_key=$VONAGE_API_KEY&api_secret=$VONAGE_API_SECRET" \\',
        "  --data-urlencode 'moCallBackUrl=https://x.test/a b'"]


def test_to_curl_never_contains_credentials():
    req = Request("POST", "https://api.nexmo.com/v0.1/dispatch", json={}, auth="basic")
    text = to_curl(req)
    assert "$VONAGE_API_KEY:$VONAGE_API_SECRET" in text and "Basic " not in text
