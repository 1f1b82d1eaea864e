"""Applications API v2 and account settings."""

from __future__ import annotations

import requests

from tests.sandbox.sandbox_helpers import basic, create_app


def test_create_generates_a_key_pair_and_returns_the_private_key_once(sandbox):
    created = create_app(sandbox, base="https://example.com/webhooks")
    assert created["keys"]["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert created["keys"]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert created["_links"]["self"]["href"] == f"/v2/applications/{created['id']}"
    assert created["capabilities"]["messages"]["webhooks"]["status_url"]["address"].endswith("/status")
    again = requests.get(f"{sandbox.url}/v2/applications/{created['id']}", auth=basic(sandbox), timeout=10)
    assert again.status_code == 200
    assert "private_key" not in again.json()["keys"]
    assert again.json()["keys"]["public_key"] == created["keys"]["public_key"]


def test_create_with_a_public_key_keeps_it(sandbox, key_pair):
    created = create_app(sandbox, key_pair[1])
    assert created["keys"] == {"public_key": key_pair[1]}


def test_validation_lists_every_problem(sandbox):
    body = {
        "capabilities": {"messages": {"webhooks": {"status_url": {"address": "ftp://x", "http_method": "GET"}}}},
        "keys": {"public_key": 42},
    }
    response = requests.post(f"{sandbox.url}/v2/applications", json=body, auth=basic(sandbox), timeout=10)
    assert response.status_code == 400
    problem = response.json()
    assert problem["title"] == "Bad Request"
    assert problem["type"].endswith("application#payload-validation")
    names = {p["name"] for p in problem["invalid_parameters"]}
    assert names == {
        "name",
        "keys.public_key",
        "capabilities.messages.webhooks.status_url.address",
        "capabilities.messages.webhooks.status_url.http_method",
    }


def test_empty_body_and_bad_public_key(sandbox):
    empty = requests.post(f"{sandbox.url}/v2/applications", json={}, auth=basic(sandbox), timeout=10)
    assert empty.status_code == 400 and empty.json()["title"] == "Bad Request"
    bad = requests.post(
        f"{sandbox.url}/v2/applications",
        json={"name": "x", "keys": {"public_key": "nope"}},
        auth=basic(sandbox),
        timeout=10,
    )
    assert bad.status_code == 400
    assert bad.json()["invalid_parameters"][0]["name"] == "keys.public_key"


def test_auth_errors(sandbox):
    wrong = requests.get(f"{sandbox.url}/v2/applications", auth=(sandbox.api_key, "wrong"), timeout=10)
    assert wrong.status_code == 401
    assert wrong.json()["title"] == "Unauthorized"
    assert wrong.json()["detail"] == "You did not provide correct credentials."
    assert requests.get(f"{sandbox.url}/v2/applications", timeout=10).status_code == 401
    bearer = requests.get(f"{sandbox.url}/v2/applications", headers={"Authorization": "Bearer x"}, timeout=10)
    assert bearer.status_code == 401


def test_not_found_wrong_verb_and_content_type(sandbox):
    missing = requests.get(f"{sandbox.url}/v2/applications/nope", auth=basic(sandbox), timeout=10)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "ID 'nope' does not exist, or you do not have access"
    verb = requests.delete(f"{sandbox.url}/v2/applications", auth=basic(sandbox), timeout=10)
    assert verb.status_code == 405
    assert verb.json()["title"] == "Request method not allowed"
    form = requests.post(f"{sandbox.url}/v2/applications", data={"name": "x"}, auth=basic(sandbox), timeout=10)
    assert form.status_code == 415
    assert form.json()["title"] == "Unsupported Content-Type header"


def test_pagination(sandbox):
    ids = [create_app(sandbox, name=f"app {i}")["id"] for i in range(3)]
    page = requests.get(
        f"{sandbox.url}/v2/applications", params={"page_size": 2, "page": 1}, auth=basic(sandbox), timeout=10
    ).json()
    assert page["total_items"] == 3 and page["total_pages"] == 2 and page["page_size"] == 2
    assert [a["id"] for a in page["_embedded"]["applications"]] == ids[:2]
    assert page["_links"]["next"]["href"] == "/v2/applications?page_size=2&page=2"
    second = requests.get(f"{sandbox.url}/v2/applications?page_size=2&page=2", auth=basic(sandbox), timeout=10)
    assert [a["id"] for a in second.json()["_embedded"]["applications"]] == ids[2:]
    assert "prev" in second.json()["_links"]
    default = requests.get(f"{sandbox.url}/v2/applications", auth=basic(sandbox), timeout=10).json()
    assert default["page_size"] == 10
    for bad in ({"page_size": 0}, {"page_size": 101}, {"page": "x"}):
        response = requests.get(f"{sandbox.url}/v2/applications", params=bad, auth=basic(sandbox), timeout=10)
        assert response.status_code == 400
        assert response.json()["type"].endswith("#list-validation")


def test_update_and_delete(sandbox, key_pair):
    created = create_app(sandbox)
    url = f"{sandbox.url}/v2/applications/{created['id']}"
    updated = requests.put(
        url, json={"name": "renamed", "keys": {"public_key": key_pair[1]}}, auth=basic(sandbox), timeout=10
    )
    assert updated.status_code == 200
    assert updated.json()["name"] == "renamed"
    assert updated.json()["keys"] == {"public_key": key_pair[1]}
    kept = requests.put(url, json={"name": "again"}, auth=basic(sandbox), timeout=10)
    assert kept.json()["keys"] == {"public_key": key_pair[1]}
    assert requests.put(url, json={}, auth=basic(sandbox), timeout=10).status_code == 400
    deleted = requests.delete(url, auth=basic(sandbox), timeout=10)
    assert deleted.status_code == 204 and deleted.content == b""
    assert deleted.headers["X-Fbfailover-Sandbox"]
    assert requests.get(url, auth=basic(sandbox), timeout=10).status_code == 404
    assert requests.delete(url, auth=basic(sandbox), timeout=10).status_code == 404


def test_account_settings_in_query_or_basic(sandbox, collector):
    """Credentials as the Account API reference says (query) or as Vonage's curl snippet and Python SDK 4.x send
    them (Basic); the URLs in the form body. Credentials in the form body are not among Vonage's ways: 401."""
    url = f"{sandbox.url}/account/settings"
    creds = {"api_key": sandbox.api_key, "api_secret": sandbox.api_secret}
    query = requests.post(url, params={**creds, "drCallBackUrl": f"{collector.url}/dr"}, timeout=10)
    assert query.status_code == 200
    assert query.json() == {
        "mo-callback-url": "",
        "dr-callback-url": f"{collector.url}/dr",
        "max-outbound-request": 30,
        "max-inbound-request": 30,
        "max-calls-per-second": 30,
    }
    form = requests.post(url, params=creds, data={"moCallBackUrl": f"{collector.url}/mo"}, timeout=10)
    assert form.json()["mo-callback-url"] == f"{collector.url}/mo"
    assert form.json()["dr-callback-url"] == f"{collector.url}/dr"
    sdk = requests.post(url, data={"moCallbackUrl": f"{collector.url}/sdk"}, auth=basic(sandbox), timeout=10)
    assert sdk.json()["mo-callback-url"] == f"{collector.url}/sdk"  # the Python SDK 4.x spelling
    unset = requests.post(url, data={"drCallBackUrl": ""}, auth=basic(sandbox), timeout=10)
    assert unset.status_code == 200 and unset.json()["dr-callback-url"] == ""
    in_form = requests.post(url, data={**creds, "moCallBackUrl": ""}, timeout=10)
    assert in_form.status_code == 401 and in_form.json()["error-code"] == "401"
    refused = requests.post(url, params={"api_key": sandbox.api_key, "api_secret": "no"}, timeout=10)
    assert refused.status_code == 401
    assert refused.json() == {"error-code": "401", "error-code-label": "authentication failed"}
    bad = requests.post(url, data={"moCallBackUrl": "not a url"}, auth=basic(sandbox), timeout=10)
    assert bad.status_code == 400
    assert requests.get(url, timeout=10).status_code == 405


def test_account_settings_save_only_urls_that_answer_200(sandbox, collector):
    """The Account API reference: "Vonage will check that they return a 200 OK response before the setting is
    saved". An unreachable URL (a tunnel whose receiver is not running), or one answering anything but 200, gets
    the Account API's error shape and nothing changes; the sandbox's own mailbox of the account answers for it."""
    from tests.ports import free_port

    url = f"{sandbox.url}/account/settings"
    before = requests.post(url, data={"moCallBackUrl": f"{collector.url}/mo"}, auth=basic(sandbox), timeout=10)
    assert before.status_code == 200
    down = f"http://127.0.0.1:{free_port()}/webhooks/inbound-sms"
    for target, why in ((down, "connection refused"), (f"{sandbox.url}/webhooks/inbound-sms", "answered 404")):
        refused = requests.post(url, data={"moCallBackUrl": target}, auth=basic(sandbox), timeout=20)
        assert refused.status_code == 420, refused.text
        body = refused.json()
        assert body["error-code"] == "420" and f"moCallBackUrl {target} {why}" in body["error-code-label"]
        assert set(body) == {"error-code", "error-code-label", "max-outbound-request", "max-inbound-request",
                             "max-calls-per-second"}
    both = requests.post(url, data={"moCallBackUrl": f"{collector.url}/ok", "drCallBackUrl": down},
                         auth=basic(sandbox), timeout=20)
    assert both.status_code == 420 and "drCallBackUrl" in both.json()["error-code-label"]
    now = requests.post(url, auth=basic(sandbox), timeout=10).json()
    assert now["mo-callback-url"] == f"{collector.url}/mo" and now["dr-callback-url"] == ""  # nothing changed
    mailbox = f"http://any.host/_sandbox/mailbox/{sandbox.api_key}/webhooks/inbound-sms"
    saved = requests.post(url, data={"moCallBackUrl": mailbox}, auth=basic(sandbox), timeout=10)
    assert saved.status_code == 200 and saved.json()["mo-callback-url"] == mailbox
