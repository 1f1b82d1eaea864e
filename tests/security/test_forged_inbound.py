"""The forged-inbound chain, end to end: a stranger who knows the tunnel's URL posts a Messenger inbound body whose
``from`` smuggles a new ``VONAGE_API_URL`` line into ``.env``. Each link is broken on its own, and the whole chain is
run through the real receiver and the real step-01 save path (``learn_facebook_ids`` → ``Tutorial.save`` →
``update_env_file``): ``.env`` is never changed."""

from __future__ import annotations

import os
import threading

import pytest
import requests

from fbfailover import tutorial
from fbfailover.config import load_settings
from fbfailover.errors import ConfigError, ValidationError
from fbfailover.tutorial.session import LIVE, Tutorial
from fbfailover.webhooks import Receiver, WaitTimeout
from fbfailover.webhooks.shared import stop_shared_receiver
from tests.ports import free_port
from tests.webhooks.webhook_helpers import SECRET, post

ENV = "VONAGE_API_KEY=key\nVONAGE_API_SECRET=secret\nVONAGE_API_URL=https://api.nexmo.com\n"
# The body of the report: a Messages v1 Messenger inbound whose ids carry carriage returns.
FORGED = {"channel": "messenger", "message_type": "text", "text": "hi",
          "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-000000000001", "timestamp": "2025-01-01T00:00:00Z",
          "to": "107", "from": "999\rVONAGE_API_URL=http://attacker.example/\rX=1"}
GENUINE = {**FORGED, "message_uuid": "aaaaaaaa-bbbb-cccc-dddd-000000000002", "to": "785347176233987",
           "from": "9412942069366717"}


def _live(tmp_path, receiver) -> Tutorial:
    env = tmp_path / ".env"
    env.write_text(ENV)
    environ = {"FBFAILOVER_ENV_FILE": str(env)}
    return Tutorial(mode=LIVE, settings=load_settings(environ), receiver=receiver, environ=environ)


def _step_01(tut: Tutorial, send, timeout: float = 1.0):
    """Run live step 01, sending ``send()`` to the receiver once the wait has begun (as a person writing would)."""
    sent = threading.Event()

    def on_wait(left: float) -> None:
        if not sent.is_set():
            sent.set()
            send()

    return tutorial.learn_facebook_ids(tut, timeout=timeout, on_wait=on_wait, tick=0.05)


@pytest.fixture
def signed_receiver():
    with Receiver(signature_secret=SECRET) as receiver:
        yield receiver


@pytest.mark.parametrize("route", ["/webhooks/inbound-sms", "/webhooks/inbound"])
def test_the_forged_body_cannot_change_env_through_the_receiver_and_step_01(tmp_path, signed_receiver, route):
    tut = _live(tmp_path, signed_receiver)
    answers: list[requests.Response] = []
    with pytest.raises(WaitTimeout):
        _step_01(tut, lambda: answers.append(post(signed_receiver.url + route, FORGED)))
    [answer] = answers
    assert answer.status_code == 503  # unsigned: Vonage would retry it signed; a forger never can
    assert answer.json()["title"] == "Service Unavailable" and "nothing was stored" in answer.json()["detail"]
    assert signed_receiver.events() == []
    assert (tmp_path / ".env").read_text() == ENV
    assert load_settings(tut.environ).api_url == "https://api.nexmo.com"


def test_a_genuine_signed_message_still_teaches_the_ids(tmp_path, signed_receiver):
    tut = _live(tmp_path, signed_receiver)
    panel = _step_01(tut, lambda: post(signed_receiver.url + "/webhooks/inbound-sms", GENUINE, secret=SECRET),
                     timeout=30)
    assert panel.data == {"fb_sender_id": "785347176233987", "fb_recipient_id": "9412942069366717"}
    saved = load_settings(tut.environ)
    assert (saved.fb_sender_id, saved.fb_recipient_id, saved.api_url) == (
        "785347176233987", "9412942069366717", "https://api.nexmo.com")


def test_a_signed_body_whose_ids_are_not_ids_is_refused_before_saving(tmp_path, signed_receiver):
    """Even a verified webhook's fields are checked before they are saved (link 1: validate the ids)."""
    tut = _live(tmp_path, signed_receiver)
    with pytest.raises(ValidationError, match="digits only"):
        _step_01(tut, lambda: post(signed_receiver.url + "/webhooks/inbound", FORGED, secret=SECRET), timeout=30)
    assert (tmp_path / ".env").read_text() == ENV


def test_unverified_sms_callbacks_are_stored_but_drive_nothing(tmp_path, signed_receiver):
    """An unsigned SMS API callback is what most accounts send: kept, flagged, never taken by a step."""
    sms = {"msisdn": "999\rVONAGE_API_URL=http://attacker.example/", "to": "107", "messageId": "0A0000001",
           "text": "hi", "type": "text", "message-timestamp": "2025-01-01 00:00:00"}
    tut = _live(tmp_path, signed_receiver)
    answers: list[int] = []
    with pytest.raises(WaitTimeout):
        _step_01(tut, lambda: answers.append(requests.post(signed_receiver.inbound_sms_url, data=sms,
                                                           timeout=5).status_code))
    assert answers == [200]
    [event] = signed_receiver.events()
    assert (event.signature, event.channel) == ("unverified", "sms")
    assert signed_receiver.events(verified=True) == []
    assert (tmp_path / ".env").read_text() == ENV


def test_without_a_signature_secret_live_step_01_refuses_to_wait(tmp_path):
    """Nothing can be verified without the secret, so the step says how to go on instead of trusting anyone."""
    with Receiver() as receiver:
        tut = _live(tmp_path, receiver)
        assert post(receiver.url + "/webhooks/inbound-sms", FORGED).status_code == 200  # stored as "absent"
        with pytest.raises(ConfigError, match="VONAGE_SIGNATURE_SECRET"):
            _step_01(tut, lambda: None)
    assert (tmp_path / ".env").read_text() == ENV


@pytest.mark.parametrize(("route", "body", "kind"), [
    ("/webhooks/inbound", {"message_uuid": "m", "status": "delivered", "timestamp": "2025-01-01T00:00:00Z"},
     "status"),
    ("/webhooks/inbound-sms", {"template": "failover", "status": "completed", "dispatch_uuid": "d"}, "final report"),
    ("/webhooks/status", GENUINE, "inbound"),
    ("/webhooks/delivery-receipt", GENUINE, "inbound"),
])
@pytest.mark.parametrize("secret", [None, SECRET], ids=["no secret", "signed"])
def test_a_route_takes_only_its_own_kind(route, body, kind, secret):
    """The route, not the body, says what an event is: a body of another kind is a clear 400, stored nowhere."""
    with Receiver(signature_secret=secret) as receiver:
        answer = post(receiver.url + route, body, secret=secret)
        assert answer.status_code == 400
        assert answer.json() == {"title": "Bad Request", "detail": answer.json()["detail"]}
        assert answer.json()["detail"].startswith(f"a {kind} body on {route}")
        assert receiver.events() == []


def test_the_whole_live_path_the_background_receiver_and_the_kernels_stream(isolated_settings, monkeypatch):
    """As live mode runs: the project's background receiver behind the (here, pretend) tunnel URL, the kernel pulling
    from its event log and checking every webhook again, step 01 saving through ``Tutorial.save``."""
    port = free_port()
    env = isolated_settings / ".env"
    env.write_text(ENV)
    for name, value in {"FBFAILOVER_RECEIVER_PORT": str(port), "VONAGE_SIGNATURE_SECRET": SECRET,
                        "FBFAILOVER_PUBLIC_URL": f"http://127.0.0.1:{port}"}.items():
        monkeypatch.setenv(name, value)
    tut = Tutorial(mode=LIVE, settings=load_settings(), environ=dict(os.environ))
    try:
        source = tut.start_receiver()
        assert source.inbound_sms_url == f"http://127.0.0.1:{port}/webhooks/inbound-sms"
        answers: list[int] = []
        with pytest.raises(WaitTimeout):
            _step_01(tut, lambda: answers.append(post(source.inbound_sms_url, FORGED).status_code))
        assert answers == [503] and (isolated_settings / ".env").read_text() == ENV
        panel = _step_01(tut, lambda: post(source.inbound_sms_url, GENUINE, secret=SECRET, api_key="key"),
                         timeout=30)
        assert panel.data == {"fb_sender_id": "785347176233987", "fb_recipient_id": "9412942069366717"}
        assert load_settings().api_url == "https://api.nexmo.com"
    finally:
        if tut.receiver is not None:
            tut.receiver.stop()
        stop_shared_receiver()


def test_doctor_says_whether_webhooks_can_be_verified():
    from fbfailover.config import Settings
    from fbfailover.doctor import _signatures

    assert _signatures(Settings(signature_secret=SECRET)).ok is True
    unsigned = _signatures(Settings())
    assert unsigned.ok is None and "typed by hand" in unsigned.detail
