"""Findings 3, 4 and 6, the room's side: what an attendee (or anyone in the room) can and cannot do.

Before: one token both created accounts and opened the dashboard that lists every api_key; accounts had no cap
(1,000 in 0.8 s); ``/_sandbox/clock`` and ``/_sandbox/openapi.json`` answered without credentials; the old
``X-Instructor-Token`` header still worked; a refused login naming a victim's api_key became the victim's last
error; ``/_sandbox/messages/<uuid>`` said 404 or 401 depending on whether the message existed; callback URLs on
``127.0.0.1`` made the sandbox a port scanner of the instructor's machine."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET
from tests.sandbox.test_workshop import DASHBOARD_TOKEN, TOKEN, Attendee


def _state(room) -> dict:
    answer = requests.get(f"{room.url}/_sandbox/workshop/state", headers={"X-Dashboard-Token": DASHBOARD_TOKEN},
                          timeout=10)
    assert answer.status_code == 200
    return answer.json()


def test_the_join_token_does_not_open_the_dashboard(room):
    for given in ({"params": {"token": TOKEN}}, {"headers": {"X-Workshop-Token": TOKEN}},
                  {"headers": {"X-Instructor-Token": TOKEN}}, {"headers": {"X-Instructor-Token": DASHBOARD_TOKEN}}):
        for path in ("workshop", "workshop/state", "workshop/state.csv"):
            assert requests.get(f"{room.url}/_sandbox/{path}", timeout=10, **given).status_code == 401


def test_the_old_instructor_header_creates_no_account(room):
    refused = requests.post(f"{room.url}/_sandbox/accounts", headers={"X-Instructor-Token": TOKEN}, timeout=10)
    assert refused.status_code == 401


def test_the_room_holds_at_most_max_accounts(room):
    joined = [Attendee(room.url) for _ in range(3)]  # with the instructor's: 4
    refused = requests.post(f"{room.url}/_sandbox/accounts", headers={"X-Workshop-Token": TOKEN}, timeout=10)
    assert refused.status_code == 429
    problem = refused.json()
    assert problem["title"] == "Too Many Accounts" and "--max-accounts" in problem["detail"]
    assert len(_state(room)["accounts"]) == 4 and len({a.api_key for a in joined}) == 3


@pytest.mark.parametrize("path", ["clock", "openapi.json", "deliveries", "recipients", ""])
def test_every_sandbox_endpoint_needs_credentials_in_workshop_mode(room, path):
    attendee = Attendee(room.url)
    url = f"{room.url}/_sandbox/{path}"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, auth=(attendee.api_key, "wrong"), timeout=10).status_code == 401
    assert requests.get(url, auth=attendee.auth, timeout=10).status_code == 200


def test_credentials_are_checked_before_existence(room):
    attendee = Attendee(room.url)
    for path in (f"messages/{uuid.uuid4()}", f"dispatches/{uuid.uuid4()}"):
        url = f"{room.url}/_sandbox/{path}"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, auth=(attendee.api_key, "wrong"), timeout=10).status_code == 401
        assert requests.get(url, auth=attendee.auth, timeout=10).status_code == 404


def test_a_refused_login_naming_a_victims_key_is_not_the_victims_doing(room):
    victim = Attendee(room.url)
    before = next(row for row in _state(room)["accounts"] if row["api_key"] == victim.api_key)
    for method, path in (("GET", "/v2/applications"), ("GET", "/_sandbox/recipients"), ("POST", "/account/settings"),
                         ("GET", "/_sandbox/events")):
        refused = requests.request(method, f"{room.url}{path}", auth=(victim.api_key, "guess"), timeout=10)
        assert refused.status_code == 401
    requests.post(f"{room.url}/account/settings", params={"api_key": victim.api_key, "api_secret": "guess"},
                  timeout=10)
    after = next(row for row in _state(room)["accounts"] if row["api_key"] == victim.api_key)
    assert after["last_error"] is None
    assert (after["last_request"], after["requests"]) == (before["last_request"], before["requests"])


LOCAL = ["http://127.0.0.1:22/x", "http://localhost:8888/api", "http://[::1]:5432/", "http://2130706433:6379/",
         "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:9000/", "http://[::ffff:127.0.0.1]:80/"]


@pytest.mark.parametrize("url", LOCAL)
def test_callbacks_at_the_sandboxs_own_machine_are_refused(room, url):
    attendee = Attendee(room.url)
    body = {"name": "scan", "capabilities": {"messages": {"webhooks": {
        "inbound_url": {"address": url, "http_method": "POST"},
        "status_url": {"address": f"{room.url}/_sandbox/mailbox/{attendee.api_key}/webhooks/status",
                       "http_method": "POST"}}}}}
    app = requests.post(f"{room.url}/v2/applications", json=body, auth=attendee.auth, timeout=10)
    assert app.status_code == 400
    named = [p["name"] for p in app.json()["invalid_parameters"]]
    assert named == ["capabilities.messages.webhooks.inbound_url.address"]
    settings = requests.post(f"{room.url}/account/settings", auth=attendee.auth, timeout=10,
                             data={"moCallBackUrl": url})
    assert settings.status_code == 400 and settings.json()["invalid_parameters"][0]["name"] == "moCallBackUrl"
    own = requests.post(f"{room.url}/account/settings", auth=attendee.auth, timeout=10,
                        data={"moCallBackUrl": f"{room.url}/_sandbox/mailbox/{attendee.api_key}/webhooks/inbound-sms"})
    assert own.status_code == 200  # the sandbox's own mailbox address of this account is fine


def test_outside_workshop_mode_a_learner_may_use_loopback(sandbox):
    """A sandbox of one learner on their own machine: their receiver is on loopback, and that is the point."""
    body = {"name": "local", "capabilities": {"messages": {"webhooks": {
        "inbound_url": {"address": "http://127.0.0.1:9/inbound", "http_method": "POST"}}}}}
    assert requests.post(f"{sandbox.url}/v2/applications", json=body, auth=(API_KEY, API_SECRET),
                         timeout=10).status_code == 201


@pytest.mark.parametrize(("resolved", "refused"), [("127.0.0.1", True), ("::1", True), ("169.254.169.254", True),
                                                   ("203.0.113.7", False)])
def test_a_name_that_resolves_to_the_sandboxs_machine_is_refused_too(resolved, refused):
    import asyncio
    import socket

    from fbfailover.sandbox.addresses import private_callback_resolved

    async def check() -> str | None:
        loop = asyncio.get_running_loop()

        async def resolver(host, port, *args, **kwargs):  # what a rebinding name answers
            family = socket.AF_INET6 if ":" in resolved else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (resolved, 0))]

        loop.getaddrinfo = resolver
        return await private_callback_resolved("http://rebind.example:8080/hook")

    why = asyncio.run(check())
    assert (why is not None) is refused
    if refused:
        assert "rebind.example is " + resolved in why
