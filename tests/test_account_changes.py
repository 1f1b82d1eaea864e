"""Account-wide changes in live mode: read first, show old → new, apply only when confirmed, keep the originals.

Live mode here is a Tutorial with credentials and an explicit API URL pointed at the embedded sandbox: the
same requests a real account would get, and nobody's real account.
"""

from __future__ import annotations

import json
import stat

import pytest

from fbfailover import tutorial
from fbfailover.errors import ConfigError
from fbfailover.tutorial.changes import originals_file

PATHS = {"mo-callback-url": "/sms/inbound", "dr-callback-url": "/sms/dlr"}
ORIGINAL = dict(PATHS)  # filled in with the ``shop`` server's URLs


@pytest.fixture(autouse=True)
def _original(shop, monkeypatch):
    """The account's URLs before the tutorial: a running server's (the account API saves only URLs that answer)."""
    for name in list(ORIGINAL):
        monkeypatch.setitem(ORIGINAL, name, shop + PATHS[name])


def live_env(box, home, **extra: str) -> dict[str, str]:
    return {"VONAGE_API_KEY": box.api_key, "VONAGE_API_SECRET": box.api_secret, "VONAGE_API_URL": box.url,
            "VONAGE_REST_URL": box.url, "VONAGE_SIGNATURE_SECRET": box.signature_secret,
            "FBFAILOVER_ENV_FILE": str(home / ".env"), "FBFAILOVER_DATA_DIR": str(home / "data"), **extra}


@pytest.fixture
def live(box, isolated_settings):
    session = tutorial.connect(live_env(box, isolated_settings))
    assert session.mode == "live"
    session.client.update_account_settings(ORIGINAL["mo-callback-url"], ORIGINAL["dr-callback-url"])
    session.start_receiver()
    yield session
    session.receiver.stop()


def _account(tut) -> dict[str, str]:
    answer = tut.client.account_settings()
    return {k: answer[k] for k in ORIGINAL}


def test_live_account_webhooks_are_shown_and_wait_for_confirmation(live):
    panel = tutorial.configure_account_webhooks(live)
    assert panel["pending"] is True and _account(live) == ORIGINAL
    shown = repr(panel)
    assert f"{ORIGINAL['mo-callback-url']} → {live.receiver.inbound_sms_url}" in shown
    assert f"{ORIGINAL['dr-callback-url']} → {live.receiver.delivery_receipt_url}" in shown
    assert "confirm=True" in shown and not originals_file(live.environ).exists()


def test_confirmed_change_keeps_the_original_urls_once(live):
    panel = tutorial.configure_account_webhooks(live, confirm=True)
    assert panel["pending"] is False and panel.title == "Account webhooks set"
    assert _account(live) == {"mo-callback-url": live.receiver.inbound_sms_url,
                              "dr-callback-url": live.receiver.delivery_receipt_url}
    path = originals_file(live.environ)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    kept = path.read_text()
    live.start_receiver()  # a new receiver, new URLs: a second change must not overwrite the originals
    tutorial.configure_account_webhooks(live, confirm=True)
    assert _account(live)["mo-callback-url"] == live.receiver.inbound_sms_url
    assert path.read_text() == kept
    assert {k: v for k, v in json.loads(kept).popitem()[1].items() if k in ORIGINAL} == ORIGINAL
    again = tutorial.configure_account_webhooks(live)
    assert again["pending"] is False and "nothing to change" in again.title


def test_restore_shows_the_diff_then_puts_the_originals_back(live):
    assert tutorial.restore_account_webhooks(live)["restored"] is False  # nothing kept yet
    tutorial.configure_account_webhooks(live, confirm=True)
    pending = tutorial.restore_account_webhooks(live)
    assert pending["pending"] is True and _account(live)["mo-callback-url"] == live.receiver.inbound_sms_url
    assert f"{live.receiver.inbound_sms_url} → {ORIGINAL['mo-callback-url']}" in repr(pending)
    done = tutorial.restore_account_webhooks(live, confirm=True)
    assert done["restored"] is True and _account(live) == ORIGINAL
    assert tutorial.restore_account_webhooks(live)["restored"] is False  # forgotten once restored


def test_the_sandbox_changes_at_once_and_still_shows_old_and_new(box, isolated_settings):
    tut = tutorial.connect(sandbox=box)
    tut.client.update_account_settings(ORIGINAL["mo-callback-url"], ORIGINAL["dr-callback-url"])
    tut.start_receiver()
    try:
        panel = tutorial.configure_account_webhooks(tut)
        assert panel["pending"] is False and _account(tut)["dr-callback-url"] == tut.receiver.delivery_receipt_url
        assert f"{ORIGINAL['dr-callback-url']} → {tut.receiver.delivery_receipt_url}" in repr(panel)
    finally:
        tut.receiver.stop()


def test_live_application_updates_wait_for_confirmation(live):
    created = tutorial.create_or_reuse_application(live)  # creating changes nothing that exists: no question
    app_id = created["application"]["id"]
    assert created["pending"] is False and created["application"]["capabilities"]["messages"]["version"] == "v1"
    old_status = live.receiver.status_url
    live.start_receiver()
    pending = tutorial.ensure_application(live)
    assert pending["pending"] is True
    assert f"{old_status} → {live.receiver.status_url}" in repr(pending)
    hooks = live.client.get_application(app_id)["capabilities"]["messages"]["webhooks"]
    assert hooks["status_url"]["address"] == old_status
    done = tutorial.ensure_application(live, confirm=True)
    assert done["pending"] is False and done["application"]["id"] == app_id
    hooks = live.client.get_application(app_id)["capabilities"]["messages"]["webhooks"]
    assert hooks["status_url"]["address"] == live.receiver.status_url
    same = tutorial.create_or_reuse_application(live)
    assert same["pending"] is False and "nothing to change" in same.title


@pytest.mark.parametrize(("port", "command"), [(None, "ngrok http 3000"), ("8080", "ngrok http 8080")])
def test_live_against_vonage_needs_a_public_url_first(isolated_settings, port, command):
    env = {"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "s3cr3tvalue",
           "FBFAILOVER_ENV_FILE": str(isolated_settings / ".env")}
    if port:
        env["FBFAILOVER_RECEIVER_PORT"] = port
    tut = tutorial.connect(env)
    for step in (tutorial.configure_account_webhooks, tutorial.create_or_reuse_application,
                 tutorial.ensure_application):
        with pytest.raises(ConfigError) as caught:
            step(tut)
        text = str(caught.value)
        assert command in text and "FBFAILOVER_PUBLIC_URL" in text and "FBFAILOVER_RECEIVER_PORT" in text
    assert tut.receiver is None  # stopped before anything started, let alone was sent


def test_the_confirm_widget_applies_only_when_clicked(live):
    from fbfailover.widgets import ConfirmChange

    change = ConfirmChange(tutorial.configure_account_webhooks, live)
    assert change.pending and not change.button.disabled and _account(live) == ORIGINAL
    assert "→" in change._repr_mimebundle_()["text/plain"]
    change.button.click()
    assert not change.pending and change.button.disabled and change.result.title == "Account webhooks set"
    assert _account(live)["mo-callback-url"] == live.receiver.inbound_sms_url
    restore = ConfirmChange(tutorial.restore_account_webhooks, live)
    assert restore.pending
    restore.submit()
    assert _account(live) == ORIGINAL and repr(restore) == "ConfirmChange(done: Account webhooks restored)"


def test_the_confirm_widget_in_the_sandbox_has_nothing_to_confirm(box, isolated_settings):
    from fbfailover.widgets import ConfirmChange

    tut = tutorial.connect(sandbox=box)
    tut.start_receiver()
    try:
        change = ConfirmChange(tutorial.configure_account_webhooks, tut)
        assert not change.pending and change.button.layout.display == "none"
        assert "Webhook URL for Inbound Message" in change._repr_mimebundle_()["text/plain"]
    finally:
        tut.receiver.stop()


def test_live_step_01_checks_the_tunnel_before_it_changes_anything(box, isolated_settings):
    from fbfailover.webhooks.shared import stop_shared_receiver
    from tests.ports import free_port

    port, closed = free_port(), free_port()
    env = live_env(box, isolated_settings, FBFAILOVER_RECEIVER_PORT=str(port),
                   FBFAILOVER_PUBLIC_URL=f"http://127.0.0.1:{closed}")
    session = tutorial.connect(env)
    session.client.update_account_settings(ORIGINAL["mo-callback-url"], ORIGINAL["dr-callback-url"])
    try:
        with pytest.raises(ConfigError) as refused:
            tutorial.configure_account_webhooks(session, confirm=True)
        text = str(refused.value)
        assert text.startswith("nothing was changed: FBFAILOVER_PUBLIC_URL=") and "connection refused" in text
        assert "fbfailover doctor" in text and _account(session) == ORIGINAL
        # A public URL that reaches this receiver (here the port itself, as a tunnel would) passes the check.
        through = tutorial.connect({**env, "FBFAILOVER_PUBLIC_URL": f"http://127.0.0.1:{port}"})
        assert tutorial.configure_account_webhooks(through)["pending"] is True
    finally:
        stop_shared_receiver(env)
