"""Webhooks over a connection the attendee opens: a shared sandbox's mailboxes and the kernel's ``StreamSource``."""

from __future__ import annotations

import time

import pytest
import requests

from fbfailover.sandbox import mailbox as mailbox_module
from fbfailover.webhooks.stream import StreamSource
from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET, SIGNATURE_SECRET, create_app, mint, post_dispatch
from tests.sandbox.test_sandbox_standalone import ROOT, Standalone
from tests.sandbox.test_workshop import TOKEN, start_workshop


def _join(box) -> tuple[str, str, str]:
    answer = requests.post(f"{box.url}/_sandbox/accounts", headers={"X-Workshop-Token": TOKEN}, timeout=10).json()
    return answer["api_key"], answer["api_secret"], answer["signature_secret"]


class Attendee:
    """One attendee's account on a box, with an application whose webhooks go to the account's mailbox."""

    def __init__(self, box, key_pair, keys: tuple[str, str, str] | None = None):
        self.url = box.url
        self.api_key, self.api_secret, self.signature_secret = keys or _join(box)
        self.app = create_app(self, key_pair[1], f"{box.url}/_sandbox/mailbox/{self.api_key}/webhooks")
        self.token = mint(self.app["id"], key_pair[0])

    def dispatch(self) -> str:
        response = post_dispatch(self, self.token)
        assert response.status_code == 202, response.text
        return response.json()["dispatch_uuid"]

    def stream(self, **kwargs) -> StreamSource:
        return StreamSource(self.url, self.api_key, self.api_secret, signature_secret=self.signature_secret,
                            **kwargs)


def _final_reports(source: StreamSource, uuids: list[str], timeout: float = 20) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = {u: len(source.events("final_report", dispatch_uuid=u)) for u in uuids}
        if all(seen.values()):
            return seen
        time.sleep(0.05)
    return {u: len(source.events("final_report", dispatch_uuid=u)) for u in uuids}


@pytest.fixture
def room():
    box = start_workshop(clock="real", time_scale=6000)
    yield box
    box.stop()


def test_an_attendee_pulls_signed_webhooks_verified_and_deduped_like_pushed_ones(room, key_pair, tmp_path):
    attendee = Attendee(room, key_pair)
    source = attendee.stream(cursor_path=tmp_path / "cursor")
    try:
        assert source.wait_until_connected(5)
        assert source.inbound_url == f"{room.url}/_sandbox/mailbox/{attendee.api_key}/webhooks/inbound"
        uuid = attendee.dispatch()
        report = source.wait_for("final_report", dispatch_uuid=uuid, timeout=20)
        assert report.body["status"] == "completed" and report.signature == "verified"
        statuses = source.events("status", dispatch_uuid=uuid)
        assert {(e.channel, e.status) for e in statuses} >= {("messenger", "submitted"), ("sms", "delivered")}
        assert source.rejections == [] and source.stats.duplicates == 0
        def saved() -> tuple[str, int]:
            epoch, _, cursor = (tmp_path / "cursor").read_text().partition(" ")
            return epoch, int(cursor or 0)

        deadline = time.monotonic() + 5  # the file is written once a page of items is taken
        while saved()[1] != source.cursor and time.monotonic() < deadline:
            time.sleep(0.02)
        assert saved() == (source.epoch, source.cursor) and source.cursor > 0 and source.epoch
        deliveries = requests.get(f"{room.url}/_sandbox/deliveries", auth=(attendee.api_key, attendee.api_secret),
                                  timeout=10).json()["deliveries"]
        assert deliveries and all(d["status"] == "delivered" and "/_sandbox/mailbox/" in d["url"]
                                  for d in deliveries)
    finally:
        source.stop()


def test_a_restarted_kernel_goes_on_from_its_cursor_and_an_absence_loses_nothing(room, key_pair, tmp_path):
    attendee = Attendee(room, key_pair)
    first = attendee.stream(cursor_path=tmp_path / "cursor", max_age=1.0)
    seen_first = attendee.dispatch()
    assert first.wait_for("final_report", dispatch_uuid=seen_first, timeout=20)
    first.stop()
    # The kernel is gone: events wait in the mailbox, longer than a signature may be old when pushed.
    missed_while_away = [attendee.dispatch() for _ in range(3)]
    time.sleep(1.5)
    again = attendee.stream(cursor_path=tmp_path / "cursor", max_age=1.0)
    try:
        counts = _final_reports(again, missed_while_away)
        assert counts == dict.fromkeys(missed_while_away, 1)
        assert again.events(dispatch_uuid=seen_first) == []  # shown before the restart: not again
        assert again.rejections == []
    finally:
        again.stop()


def test_each_account_reads_only_its_own_events(room, key_pair):
    alice, bob = Attendee(room, key_pair), Attendee(room, key_pair)
    alice.dispatch()
    events = f"{room.url}/_sandbox/events"
    for auth in (None, (alice.api_key, "wrong"), ("nobody", "x")):
        answer = requests.get(events, auth=auth, params={"after": 0}, timeout=10)
        assert answer.status_code == 401 and answer.headers["Content-Type"].startswith("application/json")
        assert answer.json()["title"] == "Unauthorized" and "events" not in answer.json()
    time.sleep(0.5)
    alices = requests.get(events, auth=(alice.api_key, alice.api_secret), params={"after": 0}, timeout=10).json()
    assert alices["events"]
    # Bob with Alice's cursor still reads only Bob's (none): a cursor is no key to another account.
    bobs = requests.get(events, auth=(bob.api_key, bob.api_secret), params={"after": 0}, timeout=10).json()
    assert bobs["events"] == [] and bobs["missed"] == 0
    bad = requests.get(events, auth=(bob.api_key, bob.api_secret), params={"after": "x"}, timeout=10)
    assert bad.status_code == 400
    # Another account's mailbox as a webhook URL: refused, nothing lands there.
    sneaky = create_app(bob, key_pair[1], f"{room.url}/_sandbox/mailbox/{alice.api_key}/webhooks")
    post_dispatch(bob, mint(sneaky["id"], key_pair[0]))
    time.sleep(0.5)
    deliveries = requests.get(f"{room.url}/_sandbox/deliveries", auth=(bob.api_key, bob.api_secret),
                              timeout=10).json()["deliveries"]
    assert {d["status"] for d in deliveries} == {"failed"}
    assert {a["status_code"] for d in deliveries for a in d["attempts"]} == {403}
    after = requests.get(events, auth=(alice.api_key, alice.api_secret), params={"after": 0}, timeout=10).json()
    assert len(after["events"]) == len(alices["events"])


def test_a_long_poll_answers_as_soon_as_an_event_is_kept(room, key_pair):
    attendee = Attendee(room, key_pair)
    events = f"{room.url}/_sandbox/events"
    auth = (attendee.api_key, attendee.api_secret)
    cursor = requests.get(events, auth=auth, timeout=10).json()["cursor"]
    started = time.monotonic()
    empty = requests.get(events, auth=auth, params={"after": cursor, "wait": 0.3}, timeout=10).json()
    assert empty["events"] == [] and empty["cursor"] == cursor and time.monotonic() - started >= 0.3
    with requests.Session() as session:
        import threading

        answer: list = []
        poll = threading.Thread(target=lambda: answer.append(session.get(
            events, auth=auth, params={"after": cursor, "wait": 20}, timeout=30).json()))
        poll.start()
        time.sleep(0.2)
        sent = time.monotonic()
        attendee.dispatch()
        poll.join(25)
    assert answer and answer[0]["events"] and time.monotonic() - sent < 5
    assert answer[0]["events"][0]["path"] == "/webhooks/status"
    assert answer[0]["events"][0]["headers"]["Authorization"].startswith("Bearer ")


def test_each_mailbox_keeps_its_latest_items_and_says_how_many_were_missed(room, key_pair, monkeypatch):
    monkeypatch.setattr(mailbox_module, "KEPT", 6)
    monkeypatch.setattr(mailbox_module, "_PRUNE_EVERY", 5)
    attendee = Attendee(room, key_pair)
    auth = (attendee.api_key, attendee.api_secret)
    for n in range(12):  # each one inbound webhook, delivered by the sandbox into the account's mailbox
        requests.post(f"{room.url}/_sandbox/inbound", auth=auth, timeout=10, json={
            "channel": "sms", "application_id": attendee.app["id"], "text": f"n={n}"}).raise_for_status()
    deadline, page = time.monotonic() + 20, {"events": []}
    while time.monotonic() < deadline:  # wait on state: the last inbound kept
        page = requests.get(f"{room.url}/_sandbox/events", auth=auth, timeout=10).json()
        if page["events"] and '"n=11"' in page["events"][-1]["body"]:
            break
        time.sleep(0.05)
    assert '"n=11"' in page["events"][-1]["body"]
    assert 6 <= len(page["events"]) < 12 and page["missed"] == 12 - len(page["events"])


def test_attendees_reconnect_after_the_sandbox_is_killed_and_every_event_arrives_once(tmp_path, key_pair):
    db = tmp_path / "room.sqlite3"
    keys = ("roomkey1", "room-secret-1", "room-signature-secret-1-0123456789")
    args = ("--db", str(db), "--time-scale", "6000", "--api-key", keys[0], "--api-secret", keys[1],
            "--signature-secret", keys[2])
    first = Standalone(*args, cwd=ROOT)
    port = first.url.rsplit(":", 1)[1]
    attendee = Attendee(first, key_pair, keys)
    source = attendee.stream(cursor_path=tmp_path / "cursor")
    second = None
    try:
        before = [attendee.dispatch() for _ in range(3)]
        assert _final_reports(source, before) == dict.fromkeys(before, 1)
        in_flight = [attendee.dispatch() for _ in range(3)]
        first.kill()
        time.sleep(0.5)  # the stream is down now and retrying
        assert not source.connected
        second = Standalone(*args, "--port", port, cwd=ROOT)
        after = [attendee.dispatch() for _ in range(3)]
        counts = _final_reports(source, before + in_flight + after, timeout=30)
        assert counts == dict.fromkeys(before + in_flight + after, 1)
        assert source.connected and source.rejections == []
    finally:
        source.stop()
        if second is not None:
            second.stop()


def test_a_cursor_from_another_database_is_dropped_and_the_new_one_read_from_its_start(key_pair, tmp_path):
    first = start_workshop(clock="real", time_scale=6000)
    keys = (API_KEY, API_SECRET, SIGNATURE_SECRET)  # the primary account: the same on every new database
    attendee = Attendee(first, key_pair, keys)
    source = attendee.stream(cursor_path=tmp_path / "cursor")
    try:
        for _ in range(3):
            assert source.wait_for("final_report", dispatch_uuid=attendee.dispatch(), timeout=20)
    finally:
        source.stop()
        first.stop()
    stale = source.cursor
    # The instructor starts over on a new database: the same credentials, ids from 1 again.
    second = start_workshop(clock="real", time_scale=6000)
    try:
        again = Attendee(second, key_pair, keys)
        fresh = again.stream(cursor_path=tmp_path / "cursor")
        try:
            uuid = again.dispatch()
            assert fresh.wait_for("final_report", dispatch_uuid=uuid, timeout=20)
            assert fresh.epoch != source.epoch and fresh.cursor < stale
        finally:
            fresh.stop()
    finally:
        second.stop()
