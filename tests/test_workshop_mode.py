"""A notebook joining a shared workshop sandbox: an account on first use, saved in .env, reused after."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests
from dotenv import dotenv_values

from fbfailover import tutorial
from fbfailover.errors import ConfigError

TOKEN = "join-the-room"


DASHBOARD_TOKEN = "the-instructors-dashboard-token"

@pytest.fixture(scope="module")
def room():
    """A sandbox in workshop mode, as `fbfailover sandbox --workshop` runs it (a 600 s expiry takes 50 ms)."""
    from fbfailover.background import serve
    from fbfailover.sandbox.core import Core, SandboxSettings
    from fbfailover.sandbox.embedded import Sandbox
    from fbfailover.sandbox.server import make_app

    core = Core.open(":memory:", SandboxSettings(time_scale=12_000, workshop=True, instructor_token=TOKEN,
                                                 dashboard_token=DASHBOARD_TOKEN))
    box = Sandbox(serve(make_app(core), on_start=core.start, on_stop=core.stop), core)
    yield box
    box.stop()


def _env(home: Path, room, **extra: str) -> dict[str, str]:
    return {"FBFAILOVER_ENV_FILE": str(home / ".env"), "FBFAILOVER_SANDBOX_URL": room.url,
            "FBFAILOVER_WORKSHOP_TOKEN": TOKEN, **extra}


def test_first_connect_gets_an_account_and_saves_it(room, isolated_settings):
    env = _env(isolated_settings, room)
    tut = tutorial.connect(env)
    assert tut.mode == "shared sandbox" and tut.settings.api_url == room.url == tut.settings.rest_url
    saved = dotenv_values(isolated_settings / ".env")
    assert saved["VONAGE_API_KEY"] == tut.settings.api_key != room.api_key
    assert saved["VONAGE_API_SECRET"] == tut.settings.api_secret
    assert saved["VONAGE_SIGNATURE_SECRET"] == tut.settings.signature_secret
    assert stat.S_IMODE((isolated_settings / ".env").stat().st_mode) == 0o600
    assert tut.sandbox.info()["api_key"] == tut.settings.api_key
    assert "your own account" in tut.describe() and tut.settings.api_secret not in tut.describe()
    # The next notebook (a new kernel) reads .env and keeps the same account.
    again = tutorial.connect(env)
    assert again.settings.api_key == tut.settings.api_key


def test_two_attendees_get_two_accounts(room, tmp_path):
    first = tutorial.connect(_env(tmp_path / "a", room))
    second = tutorial.connect(_env(tmp_path / "b", room))
    assert first.settings.api_key != second.settings.api_key


def test_the_tutorial_runs_on_a_shared_sandbox(room, isolated_settings):
    tut = tutorial.connect(_env(isolated_settings, room))
    tut.start_receiver()
    try:
        tutorial.configure_account_webhooks(tut)
        tutorial.learn_facebook_ids(tut)
        tutorial.create_or_reuse_application(tut)
        sent = tutorial.send_failover(tut, from_number="447700900000", to_number="447700900001",
                                      fb_sender_id=tut.settings.fb_sender_id,
                                      fb_recipient_id=tut.settings.fb_recipient_id,
                                      text_messenger="Hi via Messenger", text_sms="Hi via SMS")
        uuid = sent["dispatch_uuid"]
        report = tut.receiver.wait_for("final_report", dispatch_uuid=uuid, timeout=20)
        assert report.body["status"] == "completed"
        # Signed with this attendee's secret, which the receiver verified.
        assert tut.receiver.rejections == [] and tut.receiver.signature_secret == tut.settings.signature_secret
    finally:
        tut.receiver.stop()


def test_stale_credentials_are_replaced_by_a_fresh_account(room, isolated_settings):
    env = _env(isolated_settings, room, VONAGE_API_KEY="gone1234", VONAGE_API_SECRET="no-such-secret")
    (isolated_settings / ".env").write_text("VONAGE_API_KEY=gone1234\nVONAGE_API_SECRET=no-such-secret\n")
    tut = tutorial.connect({k: v for k, v in env.items() if not k.startswith("VONAGE_")})
    assert tut.settings.api_key != "gone1234"
    assert requests.get(f"{room.url}/_sandbox", auth=(tut.settings.api_key, tut.settings.api_secret),
                        timeout=10).status_code == 200


def test_a_clear_error_without_token_or_workshop_mode(room, isolated_settings, sandbox_without_workshop):
    env = _env(isolated_settings, room)
    del env["FBFAILOVER_WORKSHOP_TOKEN"]
    with pytest.raises(ConfigError, match="FBFAILOVER_WORKSHOP_TOKEN"):
        tutorial.connect(env)
    with pytest.raises(ConfigError, match="refused"):
        tutorial.connect({**env, "FBFAILOVER_WORKSHOP_TOKEN": "wrong"})
    with pytest.raises(ConfigError, match="not in workshop mode"):
        tutorial.connect({**env, "FBFAILOVER_SANDBOX_URL": sandbox_without_workshop.url})
    assert not (isolated_settings / ".env").exists()


@pytest.fixture
def sandbox_without_workshop():
    from fbfailover import sandbox

    box = sandbox.start(db=":memory:", clock="manual")
    yield box
    box.stop()


def _dashboard_row(room, api_key: str) -> dict:
    state = requests.get(f"{room.url}/_sandbox/workshop/state", headers={"X-Dashboard-Token": DASHBOARD_TOKEN},
                         timeout=10)
    return next(row for row in state.json()["accounts"] if row["api_key"] == api_key)


def test_the_attendee_name_in_env_reaches_the_dashboard(room, isolated_settings):
    (isolated_settings / ".env").write_text("FBFAILOVER_ATTENDEE_NAME=Ada\n")
    tut = tutorial.connect(_env(isolated_settings, room))
    assert _dashboard_row(room, tut.settings.api_key)["name"] == "Ada"  # sent with the new account
    room.core.activity.rename(room.core.accounts.by_key(tut.settings.api_key).id, "forgotten")  # e.g. a restart
    again = tutorial.connect(_env(isolated_settings, room))
    assert _dashboard_row(room, again.settings.api_key)["name"] == "Ada"  # sent again on every join


def test_set_attendee_name_checks_saves_and_sends(room, isolated_settings):
    from fbfailover.tutorial.workshop import set_attendee_name

    tut = tutorial.connect(_env(isolated_settings, room))
    assert set_attendee_name(tut.settings, "  Grace  Hopper ") == "Grace Hopper"
    assert dotenv_values(isolated_settings / ".env")["FBFAILOVER_ATTENDEE_NAME"] == "Grace Hopper"
    assert _dashboard_row(room, tut.settings.api_key)["name"] == "Grace Hopper"
    for bad in ("", "x" * 41, "tab\there\x07"):
        with pytest.raises(ConfigError, match="FBFAILOVER_ATTENDEE_NAME"):
            set_attendee_name(tut.settings, bad)
    assert dotenv_values(isolated_settings / ".env")["FBFAILOVER_ATTENDEE_NAME"] == "Grace Hopper"
    (isolated_settings / ".env").write_text("FBFAILOVER_ATTENDEE_NAME=\"a\x1bb\"\n")
    with pytest.raises(ConfigError, match="FBFAILOVER_ATTENDEE_NAME"):
        tutorial.connect(_env(isolated_settings, room))
