"""Workshop mode: accounts per attendee, each isolated from the others on every endpoint."""

from __future__ import annotations

import re

import pytest
import requests

from fbfailover.background import serve
from fbfailover.sandbox.core import Core, SandboxSettings
from fbfailover.sandbox.embedded import Sandbox
from fbfailover.sandbox.server import make_app
from fbfailover.sandbox.workshop_client import AccountError, create_account
from fbfailover.webhooks.signature import SignatureError, verify_signed_webhook
from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET, PSID, SIGNATURE_SECRET, create_app, mint, post_dispatch
from tests.sandbox.test_sandbox_standalone import ROOT, Standalone

TOKEN = "room-42-token"
#: The instructor's dashboard token: not the join token attendees have.
DASHBOARD_TOKEN = "dashboard-7-token"


def start_workshop(token: str = TOKEN, db: str = ":memory:", **settings) -> Sandbox:
    """An embedded sandbox in workshop mode (manual clock); the handle's credentials are the instructor's."""
    core = Core.open(
        db,
        SandboxSettings(
            clock=settings.pop("clock", "manual"),
            workshop=True,
            instructor_token=token,
            dashboard_token=settings.pop("dashboard_token", DASHBOARD_TOKEN),
            loopback_only=settings.pop("loopback_only", True),  # bound to 127.0.0.1 below, like --host 127.0.0.1
            api_key=API_KEY,
            api_secret=API_SECRET,
            signature_secret=SIGNATURE_SECRET,
            **settings,
        ),
    )
    server = serve(make_app(core), on_start=core.start, on_stop=core.stop, name="workshop-sandbox")
    return Sandbox(server, core)




class Attendee:
    """One attendee's account as a handle that ``create_app``/``post_dispatch`` accept."""

    def __init__(self, url: str, token: str = TOKEN):
        account = create_account(url, token)
        self.url = url
        self.api_key, self.api_secret, self.signature_secret = (
            account.api_key,
            account.api_secret,
            account.signature_secret,
        )
        self.auth = (self.api_key, self.api_secret)

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}/_sandbox/{path}", auth=self.auth, timeout=10, **kwargs)


@pytest.fixture
def two(room) -> tuple[Attendee, Attendee]:
    return Attendee(room.url), Attendee(room.url)


def test_accounts_need_the_token_and_are_fresh_each_time(room):
    url = f"{room.url}/_sandbox/accounts"
    assert requests.post(url, timeout=10).status_code == 401
    wrong = requests.post(url, headers={"X-Workshop-Token": "nope"}, timeout=10)
    assert wrong.status_code == 401 and "FBFAILOVER_WORKSHOP_TOKEN" in wrong.json()["detail"]
    old_header = requests.post(url, headers={"X-Instructor-Token": TOKEN}, timeout=10)
    assert old_header.status_code == 401  # the old header name is no longer read
    first, second = create_account(room.url, TOKEN), create_account(room.url, TOKEN)
    assert len({first.api_key, second.api_key, API_KEY}) == 3
    assert first.api_secret != second.api_secret and first.signature_secret != second.signature_secret
    assert "***" in repr(first) and first.api_secret not in repr(first)
    with pytest.raises(AccountError, match="refused"):
        create_account(room.url, "nope")


def test_without_workshop_mode_there_are_no_accounts(sandbox):
    response = requests.post(f"{sandbox.url}/_sandbox/accounts", headers={"X-Workshop-Token": "x"}, timeout=10)
    assert response.status_code == 404 and response.json()["title"] == "Not Found"
    with pytest.raises(AccountError, match="not in workshop mode"):
        create_account(sandbox.url, "x")
    with pytest.raises(AccountError, match="could not reach"):
        create_account("http://127.0.0.1:9", "x", timeout=2)


def test_control_endpoints_need_credentials_in_workshop_mode(room, two):
    a, _ = two
    assert requests.get(f"{room.url}/_sandbox/recipients", timeout=10).status_code == 401
    assert requests.get(f"{room.url}/_sandbox", auth=("nobody", "x"), timeout=10).status_code == 401
    assert a.control("GET", "").json()["api_key"] == a.api_key
    # The clock is shared by the room: only the instructor's account moves it.
    refused = a.control("POST", "clock/advance", json={"seconds": 60})
    assert refused.status_code == 403 and refused.json()["title"] == "Forbidden"
    assert requests.post(f"{room.url}/_sandbox/clock/advance", json={"seconds": 1}, timeout=10).status_code == 401
    moved = requests.post(
        f"{room.url}/_sandbox/clock/advance", json={"seconds": 1}, auth=(API_KEY, API_SECRET), timeout=10
    )
    assert moved.status_code == 200


def test_applications_are_private_to_their_account(two, key_pair):
    a, b = two
    app = create_app(a, key_pair[1], "http://127.0.0.1:9", name="a-app")
    url = f"{a.url}/v2/applications"
    assert requests.get(url, auth=b.auth, timeout=10).json()["total_items"] == 0
    assert requests.get(url, auth=a.auth, timeout=10).json()["total_items"] == 1
    mine = f"{url}/{app['id']}"
    assert requests.get(mine, auth=b.auth, timeout=10).status_code == 404
    assert requests.put(mine, json={"name": "stolen"}, auth=b.auth, timeout=10).status_code == 404
    assert requests.delete(mine, auth=b.auth, timeout=10).status_code == 404
    assert requests.get(mine, auth=a.auth, timeout=10).json()["name"] == "a-app"
    # Another attendee's application cannot be named in their own inbound messages either.
    inbound = b.control("POST", "inbound", json={"channel": "messenger", "application_id": app["id"]})
    assert inbound.status_code == 400 and inbound.json()["invalid_parameters"][0]["name"] == "application_id"


def test_dispatches_messages_and_deliveries_are_private(room, two, key_pair, collector):
    a, b = two
    app = create_app(a, key_pair[1], collector.url)
    token = mint(app["id"], key_pair[0])
    sent = post_dispatch(a, token)
    assert sent.status_code == 202
    uuid = sent.json()["dispatch_uuid"]
    collector.wait(1, "/status")
    assert a.control("GET", f"dispatches/{uuid}").status_code == 200
    assert b.control("GET", f"dispatches/{uuid}").status_code == 404
    message = a.control("GET", f"dispatches/{uuid}").json()["messages"][0]["message_uuid"]
    assert a.control("GET", f"messages/{message}").status_code == 200
    assert b.control("GET", f"messages/{message}").status_code == 404
    assert b.control("GET", "deliveries").json()["count"] == 0
    assert b.control("GET", "deliveries", params={"dispatch_uuid": uuid}).json()["count"] == 0
    assert a.control("GET", "deliveries", params={"dispatch_uuid": uuid}).json()["count"] >= 1
    # The webhook is signed with a's signature secret, which b does not have.
    hit = collector.wait(1, "/status")[0]
    auth = hit.headers["Authorization"]
    claims = verify_signed_webhook(auth, hit.body, a.signature_secret)
    assert claims["api_key"] == a.api_key
    with pytest.raises(SignatureError):
        verify_signed_webhook(auth, hit.body, b.signature_secret)


def test_jwts_act_for_the_account_of_their_application(two, key_pair, collector):
    a, b = two
    app_a = create_app(a, key_pair[1], collector.url)
    # b registers the same public key: b's own application id in the token makes it b's request, never a's.
    app_b = create_app(b, key_pair[1], collector.url)
    uuid_b = post_dispatch(b, mint(app_b["id"], key_pair[0])).json()["dispatch_uuid"]
    assert a.control("GET", f"dispatches/{uuid_b}").status_code == 404
    assert b.control("GET", f"dispatches/{uuid_b}").status_code == 200
    # A token for a's application signed with another key is refused.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert post_dispatch(b, mint(app_a["id"], pem)).status_code == 401


def test_recipients_and_account_settings_are_per_account(two):
    a, b = two
    assert a.control("PUT", f"recipients/messenger/{PSID}", json={"outcome": "read", "after": 5}).status_code == 200
    assert b.control("GET", f"recipients/messenger/{PSID}").json()["default"] is True
    assert b.control("GET", "recipients").json()["recipients"] == []
    assert b.control("DELETE", "recipients").json()["removed"] == 0
    assert len(a.control("GET", "recipients").json()["recipients"]) == 1
    settings = f"{a.url}/account/settings"
    hook = f"{a.url}/_sandbox/mailbox/{a.api_key}/webhooks/delivery-receipt"  # a's own mailbox answers for a
    assert requests.post(settings, params={"api_key": a.api_key, "api_secret": a.api_secret},
                         data={"drCallBackUrl": hook}, timeout=10).status_code == 200
    theirs = requests.post(settings, params={"api_key": b.api_key, "api_secret": b.api_secret},
                           data={"drCallBackUrl": hook}, timeout=10)
    assert theirs.status_code == 420 and "mailbox of another account" in theirs.json()["error-code-label"]
    answer = requests.post(settings, params={"api_key": b.api_key, "api_secret": b.api_secret}, timeout=10).json()
    assert answer["dr-callback-url"] == ""
    # One attendee's key with another's secret authenticates as nobody.
    assert requests.post(settings, params={"api_key": a.api_key, "api_secret": b.api_secret},
                         timeout=10).status_code == 401
    assert requests.get(f"{a.url}/v2/applications", auth=(a.api_key, b.api_secret), timeout=10).status_code == 401


def test_inbound_goes_to_the_attendees_own_webhooks(two, key_pair, collector):
    a, b = two
    for box, path in ((a, "a-mo"), (b, "b-mo")):
        requests.post(f"{box.url}/account/settings", params={"api_key": box.api_key, "api_secret": box.api_secret},
                      data={"moCallBackUrl": f"{collector.url}/{path}"}, timeout=10).raise_for_status()
    assert b.control("POST", "inbound", json={"channel": "messenger"}).status_code == 202
    assert len(collector.wait(1, "/b-mo")) == 1
    assert collector.wait(1, "/a-mo", timeout=0.3) == []


def test_the_cli_prints_how_attendees_join(tmp_path):
    box = Standalone("--workshop", "--workshop-token", "tok-123", "--db", str(tmp_path / "w.db"), cwd=ROOT)
    try:
        lines = [box.proc.stdout.readline() for _ in range(6)]
        text = "".join(lines)
        assert box.api_secret not in text and box.signature_secret not in text  # they went to a 0600 file
        assert re.search(r"FBFAILOVER_SANDBOX_URL=http://127\.0\.0\.1:\d+", text), text
        assert "FBFAILOVER_WORKSHOP_TOKEN=tok-123" in text
        account = create_account(box.url, "tok-123")
        assert account.api_key != box.api_key
    finally:
        assert box.stop() == 0
