"""The request side of Dispatch and Messages: validation, answers, robustness."""

from __future__ import annotations

import copy
import json

import pytest
import requests

from tests.sandbox.sandbox_helpers import basic, post_dispatch, tutorial_body

V1 = {
    "channel": "messenger",
    "message_type": "text",
    "to": "3951551948198164",
    "from": "107083064136738",
    "text": "Hi via Messenger",
    "failover": [
        {
            "channel": "sms",
            "message_type": "text",
            "to": "447700900001",
            "from": "447700900000",
            "text": "Hi via SMS",
        }
    ],
}


def test_tutorial_body_is_accepted(sandbox, app_with_key):
    response = post_dispatch(sandbox, app_with_key["token"])
    assert response.status_code == 202
    assert list(response.json()) == ["dispatch_uuid"]
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Fbfailover-Sandbox"]


def test_empty_query_string_and_trailing_slash(sandbox, app_with_key):
    for path in ("/v0.1/dispatch?", "/v0.1/dispatch/"):
        assert post_dispatch(sandbox, app_with_key["token"], path=path).status_code == 202


def test_beta_workflows_answers_workflow_uuid(sandbox, app_with_key):
    response = post_dispatch(sandbox, app_with_key["token"], path="/beta/workflows")
    assert response.status_code == 202 and list(response.json()) == ["workflow_uuid"]


def test_empty_body(sandbox, app_with_key):
    response = requests.post(
        f"{sandbox.url}/v0.1/dispatch",
        timeout=10,
        headers={"Authorization": f"Bearer {app_with_key['token']}"},
    )
    assert response.status_code == 400
    assert response.json()["invalid_parameters"] == [
        {"name": "workflow", "reason": "The workflow JSON Object cannot be empty"}
    ]


def _mutate(fn):
    body = copy.deepcopy(tutorial_body())
    fn(body)
    return body


INVALID = {
    "expiry too short": (
        lambda b: b["workflow"][0]["failover"].update(expiry_time=5),
        {"workflow[0].failover.expiry_time": "must be between 15 and 86400"},
    ),
    "expiry a string": (
        lambda b: b["workflow"][0]["failover"].update(expiry_time="600"),
        {"workflow[0].failover.expiry_time": "must be an integer"},
    ),
    "bad condition": (
        lambda b: b["workflow"][0]["failover"].update(condition_status="seen"),
        {"workflow[0].failover.condition_status": "must be one of: delivered, read"},
    ),
    "no failover on first": (
        lambda b: b["workflow"][0].pop("failover"),
        {"workflow[0].failover": "is required on every workflow item except the last"},
    ),
    "failover on last": (
        lambda b: b["workflow"][1].update(failover={"expiry_time": 60, "condition_status": "read"}),
        {"workflow[1].failover": "must not be set on the last workflow item"},
    ),
    "template": (lambda b: b.update(template="broadcast"), {"template": "must be one of: failover"}),
    "plus in number": (
        lambda b: b["workflow"][1]["to"].update(number="+447700900001"),
        {"workflow[1].to.number": None},
    ),
    "messenger text too long": (
        lambda b: b["workflow"][0]["message"]["content"].update(text="x" * 641),
        {"workflow[0].message.content.text": "must be at most 640 characters on messenger"},
    ),
    "sms image": (
        lambda b: b["workflow"][1]["message"].update(content={"type": "image", "image": {"url": "https://x"}}),
        {"workflow[1].message.content.type": None},
    ),
    "messenger without id": (lambda b: b["workflow"][0]["to"].pop("id"), {"workflow[0].to.id": None}),
    "mixed channels": (
        lambda b: b["workflow"][1]["from"].update(type="messenger", id="1"),
        {"workflow[1].from.type": "must match to.type (sms)"},
    ),
    "misspelt failover on an item that needs one": (
        lambda b: b["workflow"][0].update(failOver=b["workflow"][0].pop("failover")),
        {"workflow[0].failover": "is required on every workflow item except the last"},
    ),
    "workflow not a list": (lambda b: b.update(workflow={}), {"workflow": "must be an array"}),
    "empty workflow": (lambda b: b.update(workflow=[]), {"workflow": "must hold at least 1 item"}),
    "message_tag without tag": (
        lambda b: b["workflow"][0]["message"].update(messenger={"category": "message_tag"}),
        {"workflow[0].message.messenger.tag": None},
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_bodies(sandbox, app_with_key, case):
    mutate, expected = INVALID[case]
    response = post_dispatch(sandbox, app_with_key["token"], _mutate(mutate))
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["title"] == "Your request parameters didn't validate."
    found = {p["name"]: p["reason"] for p in problem["invalid_parameters"]}
    assert problem["detail"] == f"Found errors validating {len(found)} of your submitted parameter" + (
        "s." if len(found) != 1 else "."
    )
    for name, reason in expected.items():
        assert name in found, found
        if reason is not None:
            assert found[name] == reason


def test_one_entry_per_violation(sandbox, app_with_key):
    def breaks(b):
        b["workflow"][0]["failover"]["expiry_time"] = 1
        b["workflow"][0]["failover"]["condition_status"] = "x"
        b["workflow"][1]["message"]["content"]["text"] = 5

    problem = post_dispatch(sandbox, app_with_key["token"], _mutate(breaks)).json()
    assert [p["name"] for p in problem["invalid_parameters"]] == [
        "workflow[0].failover.condition_status",
        "workflow[0].failover.expiry_time",
        "workflow[1].message.content.text",
    ]


MALFORMED = [
    (
        "form body",
        {"data": "template=failover", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        415,
    ),
    ("text/plain", {"data": "{}", "headers": {"Content-Type": "text/plain"}}, 415),
    ("invalid JSON", {"data": "{nope", "headers": {"Content-Type": "application/json"}}, 400),
    ("form text labelled JSON", {"data": "a=1&b=2", "headers": {"Content-Type": "application/json"}}, 400),
    ("not UTF-8", {"data": b"\xff\xfe{}", "headers": {"Content-Type": "application/json"}}, 400),
    ("a JSON array", {"data": "[1, 2]", "headers": {"Content-Type": "application/json"}}, 400),
    ("a JSON string", {"data": '"x"', "headers": {"Content-Type": "application/json"}}, 400),
    ("null", {"data": "null", "headers": {"Content-Type": "application/json"}}, 400),
    (
        "over 1 MiB",
        {
            "data": json.dumps({"template": "failover", "pad": "x" * (1024 * 1024)}),
            "headers": {"Content-Type": "application/json"},
        },
        413,
    ),
]


@pytest.mark.parametrize("path", ["/v0.1/dispatch", "/v0.1/messages", "/v1/messages", "/v2/applications"])
@pytest.mark.parametrize(("case", "kwargs", "status"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_input_gets_a_problem_json(sandbox, path, case, kwargs, status):
    response = requests.post(f"{sandbox.url}{path}", auth=basic(sandbox), timeout=10, **kwargs)
    expected = {"/v1/messages": {400: 422}}.get(path, {}).get(status, status)
    if path == "/v2/applications" and case in ("a JSON array", "a JSON string", "null"):
        expected = 400
    assert response.status_code == expected, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Fbfailover-Sandbox"]
    assert {"type", "title", "detail", "instance"} <= set(response.json())


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v0.1/dispatch", 405),
        ("PUT", "/v0.1/dispatch", 405),
        ("DELETE", "/v1/messages", 405),
        ("PATCH", "/v2/applications", 405),
        ("TRACE", "/v0.1/messages", 405),
        ("OPTIONS", "/v0.1/dispatch", 405),
        ("GET", "/nothing/here", 404),
        ("POST", "/v0.2/dispatch", 404),
        ("GET", "/", 404),
        ("DELETE", "/_sandbox/nothing", 404),
        ("HEAD", "/v0.1/dispatch", 405),
    ],
)
def test_unknown_routes_and_methods(sandbox, method, path, status):
    response = requests.request(method, f"{sandbox.url}{path}", timeout=10)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Fbfailover-Sandbox"]
    if method != "HEAD":
        assert response.json()["title"]


@pytest.mark.parametrize(
    "path", ["/v0.1/dispatch/ping", "/v0.1/messages/ping", "/v1/messages/ping", "/v2/applications/ping"]
)
def test_ping(sandbox, path):
    response = requests.get(f"{sandbox.url}{path}", timeout=10)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_messages_v01(sandbox, app_with_key):
    body = {
        "to": {"type": "messenger", "id": "1"},
        "from": {"type": "messenger", "id": "2"},
        "message": {"content": {"type": "text", "text": "hi"}, "messenger": {"category": "response"}},
        "client_ref": "abc",
    }
    response = requests.post(
        f"{sandbox.url}/v0.1/messages?",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {app_with_key['token']}"},
    )
    assert response.status_code == 202 and list(response.json()) == ["message_uuid"]
    body["client_ref"] = "x" * 41
    bad = requests.post(
        f"{sandbox.url}/v0.1/messages",
        json=body,
        timeout=10,
        headers={"Authorization": f"Bearer {app_with_key['token']}"},
    )
    assert bad.status_code == 400 and bad.json()["invalid_parameters"][0]["name"] == "client_ref"


def test_messages_v1(sandbox, app_with_key):
    headers = {"Authorization": f"Bearer {app_with_key['token']}"}
    with_failover = requests.post(f"{sandbox.url}/v1/messages", json=V1, headers=headers, timeout=10)
    assert with_failover.status_code == 202
    assert set(with_failover.json()) == {"message_uuid", "workflow_id"}
    single = {k: v for k, v in V1.items() if k != "failover"}
    alone = requests.post(f"{sandbox.url}/v1/messages", json=single, headers=headers, timeout=10)
    assert alone.status_code == 202 and list(alone.json()) == ["message_uuid"]
    bad = copy.deepcopy(V1)
    bad["failover"][0]["to"] = "+44"
    del bad["failover"][0]["text"]
    response = requests.post(f"{sandbox.url}/v1/messages", json=bad, headers=headers, timeout=10)
    assert response.status_code == 422
    assert {p["name"] for p in response.json()["invalid_parameters"]} == {
        "failover[0].text",
        "failover[0].to",
    }


def _v1_post(sandbox, app_with_key, body):
    headers = {"Authorization": f"Bearer {app_with_key['token']}"}
    return requests.post(f"{sandbox.url}/v1/messages", json=body, headers=headers, timeout=10)


def test_valid_requests_vonage_takes_are_not_refused(sandbox, app_with_key):
    """Requests that Vonage's documents or SDKs allow, which the sandbox used to refuse."""
    sms = copy.deepcopy(V1["failover"][0])
    # the failover list takes "as many as required" (Vonage's failover guide): twelve SMS in a row
    many = _v1_post(sandbox, app_with_key, {**V1, "failover": [sms] * 12})
    assert many.status_code == 202, many.text
    assert set(many.json()) == {"message_uuid", "workflow_id"}
    # an empty failover list sends the message alone (no workflow to follow)
    empty = _v1_post(sandbox, app_with_key, {**V1, "failover": []})
    assert empty.status_code == 202, empty.text
    assert list(empty.json()) == ["message_uuid"]
    # MMS text and file messages (the Node SDK's MMSText and MMSFile, the Java SDK's MmsTextRequest and MmsFileRequest)
    mms = {"channel": "mms", "to": sms["to"], "from": "14155550100"}
    for extra in ({"message_type": "text", "text": "hi"},
                  {"message_type": "file", "file": {"url": "https://example.com/menu.pdf"}}):
        response = _v1_post(sandbox, app_with_key, {**mms, **extra})
        assert response.status_code == 202, response.text
    # fields the published Dispatch schema does not forbid, on an item, an address and a message
    body = tutorial_body()
    body["workflow"][0]["note"] = "ours"
    body["workflow"][0]["to"]["note"] = "ours"
    body["workflow"][1]["message"]["note"] = "ours"
    assert post_dispatch(sandbox, app_with_key["token"], body).status_code == 202
