"""The tutorial steps end to end against a real embedded sandbox and receiver (no mocks)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from dotenv import dotenv_values

from fbfailover import tutorial
from fbfailover.errors import ConfigError, ValidationError
from fbfailover.tokens import decode_for_display
from fbfailover.tutorial.live import LiveControls

FROM, TO = "447700900000", "447700900001"


@pytest.fixture
def tut(box, isolated_settings):
    session = tutorial.connect(sandbox=box)
    session.start_receiver()
    yield session
    box.reset_recipients()
    session.receiver.stop()


@pytest.fixture
def ready(tut):
    """A session that went through steps 01 and 02."""
    tutorial.configure_account_webhooks(tut)
    tutorial.learn_facebook_ids(tut)
    tutorial.create_or_reuse_application(tut)
    return tut


def _send_kwargs(tut) -> dict:
    s = tut.settings
    return {"from_number": FROM, "to_number": TO, "fb_sender_id": s.fb_sender_id,
            "fb_recipient_id": s.fb_recipient_id, "text_messenger": "Hi via Messenger", "text_sms": "Hi via SMS"}


def test_without_credentials_the_sandbox_plays_vonage(tut, box):
    assert tut.mode == "sandbox" and tut.offline
    assert tut.settings.api_url == box.url and tut.settings.rest_url == box.url
    assert tut.settings.api_key == box.api_key
    assert "Nothing leaves this machine" in tut.describe()
    assert box.api_secret not in repr(tut.settings)


def test_real_credentials_select_live_mode_and_start_nothing(isolated_settings):
    env = {"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "s3cr3tvalue",
           "FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")}
    tut = tutorial.connect(env)
    assert tut.mode == "live" and not tut.offline and isinstance(tut.sandbox, LiveControls)
    assert tut.settings.api_url == "https://api.nexmo.com"
    assert "s3cr3tvalue" not in tut.describe() + repr(tut)


def test_an_explicit_local_api_url_is_honoured_in_live_mode(isolated_settings, box):
    env = {"VONAGE_API_KEY": box.api_key, "VONAGE_API_SECRET": box.api_secret, "VONAGE_API_URL": box.url,
           "VONAGE_REST_URL": box.url, "FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")}
    tut = tutorial.connect(env)
    assert tut.mode == "live" and isinstance(tut.sandbox, LiveControls) and tut.settings.api_url == box.url
    assert tut.describe().startswith(f"Mode: live — requests go to {box.url} (a local address — not Vonage)")
    assert tut.client.list_applications()["page"] == 1  # the requests really reach that address


def test_live_mode_against_vonage_says_money_is_real(isolated_settings):
    env = {"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "s3cr3tvalue",
           "FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")}
    said = tutorial.connect(env).describe()
    assert "https://api.nexmo.com (Vonage's live API — real messages, real money)" in said


def test_a_shared_sandbox_needs_an_account(isolated_settings):
    env = {"FBFAILOVER_SANDBOX_URL": "http://127.0.0.1:9", "FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")}
    with pytest.raises(ConfigError, match="VONAGE_API_KEY"):
        tutorial.connect(env)
    tut = tutorial.connect({**env, "VONAGE_API_KEY": "k1", "VONAGE_API_SECRET": "s1"})
    assert tut.mode == "shared sandbox" and tut.settings.api_url == "http://127.0.0.1:9"


def test_save_writes_a_private_env_file_and_keeps_the_sandbox(tut, box):
    path = tut.save(FROM_NUMBER=FROM)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dotenv_values(path) == {"FROM_NUMBER": FROM}
    assert tut.settings.from_number == FROM and tut.settings.api_url == box.url


def test_prerequisites_list_settings_and_mode(tut):
    import re

    from tests.test_packaging import PYPROJECT

    text = repr(tutorial.prerequisites(tut))
    assert "FB_RECIPIENT_ID: not set yet: step 01 learns it" in text and "mode: sandbox" in text
    assert "VONAGE_APPLICATION_ID: not set yet: step 02 creates the application" in text
    # No step writes the numbers: the panel says what is used without them, and for live mode where they go.
    assert "FROM_NUMBER: not set: the steps use the tutorial's example sender 447700900000" in text
    assert "TO_NUMBER: not set: the steps use the example phone 447700900001" in text
    assert "MISSING" not in text
    for requirement in PYPROJECT["project"]["dependencies"]:  # every runtime dependency is checked
        assert f"  {re.match(r'[A-Za-z0-9_.-]+', requirement).group(0)}: installed" in text


def test_account_webhooks_point_at_the_receiver(tut):
    panel = tutorial.configure_account_webhooks(tut)
    assert panel["mo-callback-url"] == tut.receiver.inbound_sms_url
    assert panel["dr-callback-url"] == tut.receiver.delivery_receipt_url
    assert "$VONAGE_API_SECRET" in repr(panel) and tut.settings.api_secret not in repr(panel)


def test_facebook_ids_come_from_an_inbound_message_and_are_saved(tut):
    tutorial.configure_account_webhooks(tut)
    panel = tutorial.learn_facebook_ids(tut)
    event = tut.receiver.events("inbound")[-1]
    assert panel["fb_sender_id"] == event.body["to"]["id"]
    assert panel["fb_recipient_id"] == event.body["from"]["id"]
    saved = dotenv_values(tut.env_file)
    assert saved["FB_SENDER_ID"] == panel["fb_sender_id"] and saved["FB_RECIPIENT_ID"] == panel["fb_recipient_id"]


def test_the_application_is_created_once_then_reused(tut):
    first = tutorial.create_or_reuse_application(tut)
    app_id = first["application"]["id"]
    key = Path(tut.settings.private_key_path)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and key.name == "private.key"
    assert dotenv_values(tut.env_file)["VONAGE_APPLICATION_ID"] == app_id
    assert "PRIVATE KEY" not in repr(first)
    second = tutorial.create_or_reuse_application(tut)
    assert second["application"]["id"] == app_id and second.title.startswith("Reusing")
    hooks = second["application"]["capabilities"]["messages"]["webhooks"]
    assert hooks["status_url"]["address"] == tut.receiver.status_url


def test_the_api_can_generate_the_key_pair(tut):
    panel = tutorial.create_or_reuse_application(tut, key_source="api")
    assert "API generated" in panel.title
    token = tutorial.mint_token(tut)  # the saved private key matches the public key the API kept
    assert token["claims"]["application_id"] == panel["application"]["id"]
    with pytest.raises(ValueError, match="key_source"):
        tutorial.create_or_reuse_application(tut, key_source="elsewhere")


def test_the_token_is_verified_and_never_shown_whole(ready):
    panel = tutorial.mint_token(ready, ttl=300, acl={"paths": {"/*/messages/**": {}}})
    claims = decode_for_display(panel["token"])["claims"]
    assert claims["exp"] - claims["iat"] == 300 and claims["acl"] == {"paths": {"/*/messages/**": {}}}
    assert panel["token"] not in repr(panel) + panel._repr_html_()
    assert "lifetime: 300 s" in repr(panel)


@pytest.mark.parametrize(("outcome", "status", "channels", "sms"), [
    ("never read (the default)", "completed", ["messenger", "sms"], "yes"),
    ("reads in time", "completed", ["messenger"], "no"),
    ("Messenger rejects", "completed", ["messenger", "sms"], "yes"),
    ("SMS undeliverable", "error", ["messenger", "sms"], "yes"),
])
def test_each_outcome_ends_in_its_final_report(ready, outcome, status, channels, sms):
    kwargs = _send_kwargs(ready)
    sent = tutorial.send_failover(ready, **kwargs, before_send=lambda: tutorial.apply_outcome(
        ready, outcome, fb_recipient_id=kwargs["fb_recipient_id"], to_number=TO))
    assert sent["body"]["workflow"][0]["failover"] == {"expiry_time": 600, "condition_status": "read"}
    report = tutorial.follow_dispatch(ready, sent)
    assert report.title == f"Final report: {status}"
    assert [m["channel"] for m in report["report"]["_links"]["messages"]] == channels
    assert f"failed over to SMS: {sms}" in repr(report)


def test_progress_is_reported_up_to_the_expiry(ready):
    seen: list[tuple[float, float]] = []
    sent = tutorial.send_failover(ready, **_send_kwargs(ready), expiry_time=900)
    tutorial.follow_dispatch(ready, sent, on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (900, 900) and all(0 <= d <= t == 900 for d, t in seen)


def test_a_bad_number_is_refused_before_anything_is_sent(ready, box):
    before = len(box.deliveries())
    kwargs = {**_send_kwargs(ready), "from_number": "+447700900000"}
    with pytest.raises(ValidationError) as caught:
        tutorial.send_failover(ready, **kwargs, before_send=lambda: pytest.fail("must not get this far"))
    assert caught.value.fields == {"workflow[1].from.number": "must be digits only in E.164 form without a "
                                                              "leading '+'; use 447700900000"}
    assert len(box.deliveries()) == before


def test_outcomes_are_sandbox_only(isolated_settings):
    env = {"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "s3cr3tvalue",
           "FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")}
    live = tutorial.connect(env)
    assert tutorial.apply_outcome(live, "never read (the default)", fb_recipient_id="1", to_number=TO)
    with pytest.raises(ValueError, match="only the sandbox"):
        tutorial.apply_outcome(live, "reads in time", fb_recipient_id="1", to_number=TO)
    with pytest.raises(ValueError, match="unknown outcome"):
        tutorial.apply_outcome(live, "maybe", fb_recipient_id="1", to_number=TO)


def test_messages_v1_fails_over_only_on_rejection(ready):
    kwargs = _send_kwargs(ready)
    delivered = tutorial.follow_v1(ready, tutorial.send_v1_failover(ready, **kwargs))
    assert [(line[0], line[1]) for line in delivered.lines] == [
        ("message 1 (messenger)", "submitted"), ("message 1 (messenger)", "delivered")]
    tutorial.apply_outcome(ready, "Messenger rejects", fb_recipient_id=kwargs["fb_recipient_id"], to_number=TO)
    sent = tutorial.send_v1_failover(ready, **kwargs)
    assert sent["workflow_id"]
    statuses = [line[1] for line in tutorial.follow_v1(ready, sent).lines]
    assert statuses == ["submitted", "rejected", "submitted", "delivered"]


def test_the_two_requests_side_by_side(ready):
    panel = tutorial.compare_requests(ready)
    assert panel["dispatch"]["template"] == "failover"
    assert panel["v1"]["failover"][0]["channel"] == "sms"
    assert panel["v1"]["to"] == ready.settings.fb_recipient_id
    # Each Messenger text says what its API does: v1 has no read timer.
    assert "Not read in time" in panel["dispatch"]["workflow"][0]["message"]["content"]["text"]
    assert "Not read in time" not in panel["v1"]["text"] and "cannot deliver" in panel["v1"]["text"]


def test_a_v1_workflow_is_settled_only_when_every_status_is_in():
    from types import SimpleNamespace

    from fbfailover.webhooks import v1_outcome

    def status(item: int, value: str):
        return SimpleNamespace(status=value, body={"workflow": {"item_number": item, "items_total": 2}})

    sms_delivered = [status(2, "submitted"), status(2, "delivered")]
    assert v1_outcome(sms_delivered) is None  # the messenger statuses are still on their way
    assert v1_outcome([status(1, "submitted"), *sms_delivered]) is None
    assert v1_outcome([status(1, "submitted"), status(1, "rejected"), *sms_delivered]) == "delivered"
    assert v1_outcome([status(1, "submitted"), status(1, "delivered")]) == "delivered"
    assert v1_outcome([status(1, "submitted"), status(1, "rejected"), status(2, "submitted"),
                     status(2, "undeliverable")]) == "failed"
    assert v1_outcome([]) is None


def test_a_public_url_is_what_the_receiver_hands_out(box, isolated_settings):
    (isolated_settings / ".env").write_text("FBFAILOVER_PUBLIC_URL=https://tunnel.example\n")
    tut = tutorial.connect(sandbox=box)
    receiver = tut.start_receiver()
    try:
        assert receiver.status_url == "https://tunnel.example/webhooks/status"
        assert receiver.local_url.startswith("http://127.0.0.1:")
    finally:
        receiver.stop()


def test_a_later_step_started_alone_sets_up_what_it_needs(tut):
    panel = tutorial.ensure_application(tut)  # no step 01 or 02 in this fresh .env
    assert ("Facebook ids", "learned from a simulated inbound message (step 01 shows how)") in panel.lines
    saved = dotenv_values(tut.env_file)
    assert saved["FB_SENDER_ID"] and saved["FB_RECIPIENT_ID"] and saved["VONAGE_APPLICATION_ID"]
    again = tutorial.ensure_application(tut)
    assert again.title.startswith("Reusing")
    assert ("Facebook ids", "FB_SENDER_ID and FB_RECIPIENT_ID from .env") in again.lines


def test_follow_v1_settles_on_results_in_any_order():
    from types import SimpleNamespace

    from fbfailover.webhooks import EventStore, make_event

    store = EventStore()

    def status(item: int, value: str, total: str = "items_total") -> None:
        body = {"message_uuid": f"m{item}", "to": "447700900001", "from": "447700900000", "status": value,
                "channel": "messenger" if item == 1 else "sms", "timestamp": "2025-08-13T10:00:00Z",
                "workflow": {"id": "wf-9", "item_number": str(item), total: "2"}}
        store.add(make_event("/webhooks/status", body))

    status(2, "delivered", "total_items")
    status(1, "rejected")  # refused at once: no submitted before it
    status(2, "submitted")
    panel = tutorial.follow_v1(SimpleNamespace(receiver=store), {"workflow_id": "wf-9"}, timeout=1, settle=0)
    assert panel.lines == [("message 1 (messenger)", "rejected"), ("message 2 (sms)", "submitted"),
                           ("message 2 (sms)", "delivered")]
    store.close()


# -- step 01 live: a person's pace -------------------------------------------------------------------


class _LiveSession:
    """The parts of a live ``Tutorial`` step 01 uses: a receiver's store and ``save``, no sandbox."""

    offline = False

    def __init__(self):
        from fbfailover.webhooks import EventStore

        self.receiver = EventStore()
        self.receiver.signature_secret = "secret"  # live, the ids come from signed webhooks only
        self.saved: dict = {}

    def save(self, **values):
        self.saved.update(values)
        return Path(".env")


def _inbound(store, body):
    from fbfailover.webhooks import make_event

    store.add(make_event("/webhooks/inbound", body, signature="verified"))


V1_INBOUND = {"channel": "messenger", "message_uuid": "bbbbbbbb-cccc-dddd-eeee-0123456789ab", "to": "785347176233987",
              "from": "9412942069366717", "timestamp": "2025-08-13T10:00:00Z", "message_type": "text", "text": "Hi"}


def test_live_ids_come_from_a_v1_inbound_message_and_the_countdown_ticks():
    import threading

    live = _LiveSession()
    ticks: list[float] = []
    sent = threading.Event()

    def on_wait(left: float) -> None:
        ticks.append(left)
        if not sent.is_set():  # the person writes while the countdown runs
            sent.set()
            _inbound(live.receiver, V1_INBOUND)

    panel = tutorial.learn_facebook_ids(live, timeout=30, on_wait=on_wait, tick=0.05)
    assert panel.data == {"fb_sender_id": "785347176233987", "fb_recipient_id": "9412942069366717"}
    assert ("from — the user's PSID → FB_RECIPIENT_ID", "9412942069366717") in panel.lines
    assert ("to — your Page ID → FB_SENDER_ID", "785347176233987") in panel.lines
    assert live.saved == {"FB_SENDER_ID": "785347176233987", "FB_RECIPIENT_ID": "9412942069366717"}
    assert ticks and all(0 < t <= 30 for t in ticks)
    live.receiver.close()


def test_live_waiting_waits_minutes_by_default_and_only_for_new_messenger_messages():
    from fbfailover.tutorial.facebook_ids import LIVE_TIMEOUT
    from fbfailover.webhooks import WaitTimeout

    assert LIVE_TIMEOUT >= 300
    live = _LiveSession()
    _inbound(live.receiver, V1_INBOUND)  # arrived before the step started: not the one awaited
    _inbound(live.receiver, {**V1_INBOUND, "channel": "sms", "message_uuid": "x", "to": "447700900000",
                             "from": "447700900001"})
    with pytest.raises(WaitTimeout, match="page_id="):
        tutorial.learn_facebook_ids(live, timeout=0.2, tick=0.05, on_wait=lambda left: None)
    assert live.saved == {}


def test_live_waiting_stops_on_cancel_and_on_interrupt():
    import threading

    live = _LiveSession()
    cancel = threading.Event()
    cancel.set()
    stopped = tutorial.learn_facebook_ids(live, cancel=cancel, on_wait=lambda left: None)
    assert stopped.title == "Stopped waiting (cancelled): no ids saved" and stopped["cancelled"]

    def interrupt(left: float) -> None:
        raise KeyboardInterrupt

    assert tutorial.learn_facebook_ids(live, on_wait=interrupt).title.startswith("Stopped waiting (interrupted)")
    assert live.saved == {}


def test_ids_typed_by_hand_are_checked_then_saved():
    live = _LiveSession()
    panel = tutorial.learn_facebook_ids(live, page_id=" 785347176233987 ", psid="9412942069366717")
    assert panel.data == {"fb_sender_id": "785347176233987", "fb_recipient_id": "9412942069366717"}
    assert live.saved == {"FB_SENDER_ID": "785347176233987", "FB_RECIPIENT_ID": "9412942069366717"}
    with pytest.raises(ValidationError) as info:
        tutorial.learn_facebook_ids(live, page_id="my page", psid="")
    assert {p["name"] for p in info.value.invalid_parameters} == {"page_id", "psid"}
    assert tutorial.facebook_id_problem("12345") is None
    assert "digits only" in tutorial.facebook_id_problem("12a45")


def test_live_mode_sends_one_workflow_without_asking_and_its_sandbox_controls_explain_themselves(isolated_settings):
    from fbfailover import sandbox
    from fbfailover.payloads import tutorial_workflow

    box = sandbox.start(db=":memory:")
    try:
        env = {"VONAGE_API_KEY": box.api_key, "VONAGE_API_SECRET": box.api_secret,
               "VONAGE_SIGNATURE_SECRET": box.signature_secret, "VONAGE_API_URL": box.url,
               "VONAGE_REST_URL": box.url, "FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")}
        tut = tutorial.connect(env)
        tut.start_receiver()
        tutorial.ensure_application(tut)
        note = tut.sandbox.set_recipient("messenger", "123", "read")
        assert "nothing was changed" in repr(note) and tut.sandbox.deliveries() == []
        body = tutorial_workflow(from_number="447700900000", to_number="447700900001", fb_sender_id="1071",
                                 fb_recipient_id="3951", text_messenger="hi", text_sms="hi")
        first = tut.send("POST", "/v0.1/dispatch", body)
        assert first.accepted and tut.live_sends == 1
        second = tut.send("POST", "/v0.1/dispatch", body)
        assert not second.accepted and "confirm=True" in second.text()
        third = tut.send("POST", "/v0.1/dispatch", body, confirm=True)
        assert third.accepted and tut.live_sends == 2
        exercise = tutorial.exercises.sms_after(tut, 30)
        assert "nothing to check" in repr(exercise.check())
    finally:
        if tut.receiver is not None:
            tut.receiver.stop()
        box.stop()


def test_curl_twins_call_vonage_and_say_where_the_notebook_really_sent_the_request():
    from types import SimpleNamespace

    from fbfailover.payloads import Request
    from fbfailover.tutorial.twins import curl_twin

    offline = SimpleNamespace(offline=True)
    label, command = curl_twin(offline, Request("POST", "http://127.0.0.1:8765/v2/applications", {}, json={"a": 1},
                                                auth="basic"))
    assert "https://api.nexmo.com/v2/applications" in command and "127.0.0.1" not in command
    assert "sandbox at http://127.0.0.1:8765" in label
    _, account = curl_twin(offline, Request("POST", "http://127.0.0.1:8765/account/settings", {}, auth="query"))
    assert "https://rest.nexmo.com/account/settings" in account
    live = SimpleNamespace(offline=False)
    assert curl_twin(live, Request("GET", "https://api.nexmo.com/v2/applications", {}, auth="basic"))[0] == \
        "the same request with curl"


def test_connect_leaves_the_learners_garbage_collector_alone(isolated_settings):
    import gc

    def state() -> tuple:
        return gc.get_threshold(), gc.isenabled(), list(gc.callbacks), gc.get_freeze_count()

    before = state()
    tut = tutorial.connect({"FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")})
    tut.start_receiver()
    try:
        assert tut.mode == "sandbox" and tut.sandbox.running
        assert state() == before
    finally:
        tut.receiver.stop()
    assert state() == before
