"""Finding 2 and the mailbox half of finding 3: only the sandbox puts items in a workshop mailbox.

Before: ``POST /_sandbox/mailbox/<api_key>/...`` stored anything for a known key (404 for an unknown one: an
existence oracle), and the attendee's kernel took unsigned inbound-SMS items from the stream as from Vonage;
1 MB posts filled the database at 100 MB a second and pushed the victim's real items out of its window."""

from __future__ import annotations

import re
import time

import pytest
import requests

from fbfailover.sandbox.mailbox import Mailbox
from fbfailover.sandbox.storage import Database
from tests.sandbox.sandbox_helpers import create_app
from tests.sandbox.test_workshop import Attendee, start_workshop

FORGED = (b'{"msisdn": "447700900001", "to": "447700900000", "messageId": "forged", "text": "VONAGE_API_URL=x",'
          b' "type": "text", "message-timestamp": "2026-01-01 00:00:00"}')


@pytest.fixture
def room():
    box = start_workshop()
    try:
        yield box
    finally:
        box.stop()


def _events(room, attendee: Attendee) -> list[dict]:
    answer = requests.get(f"{room.url}/_sandbox/events", auth=attendee.auth, timeout=10)
    assert answer.status_code == 200
    return answer.json()["events"]


def test_nobody_outside_the_sandbox_puts_an_item_in_a_mailbox(room):
    victim = Attendee(room.url)
    answers = []
    for key in (victim.api_key, "00000000", "nosuchkey"):
        for route in ("webhooks/inbound-sms", "webhooks/status"):
            for headers in ({"Content-Type": "application/x-www-form-urlencoded"},
                            {"Content-Type": "application/json", "Authorization": "Bearer forged"}):
                answer = requests.post(f"{room.url}/_sandbox/mailbox/{key}/{route}", data=FORGED, headers=headers,
                                       auth=victim.auth if route.endswith("status") else None, timeout=10)
                answers.append((answer.status_code, {k: v for k, v in answer.json().items() if k != "instance"}))
    assert {status for status, _ in answers} == {403}
    assert len({repr(body) for _, body in answers}) == 1  # a known key and an unknown one: the same answer
    assert _events(room, victim) == []  # nothing reached the victim's stream


def test_a_megabyte_post_is_refused_and_keeps_nothing(room):
    victim = Attendee(room.url)
    size = room.core.mailbox._bytes
    for _ in range(5):
        answer = requests.post(f"{room.url}/_sandbox/mailbox/{victim.api_key}/webhooks/status",
                               data=b"x" * (1024 * 1024), headers={"Content-Type": "application/json"}, timeout=30)
        assert answer.status_code == 413  # past the largest item a mailbox keeps, before anything else
    assert room.core.mailbox._bytes == size and _events(room, victim) == []


def test_the_sandboxs_own_deliveries_still_reach_the_mailbox(room):
    attendee = Attendee(room.url)
    app = create_app(attendee, None, f"{room.url}/_sandbox/mailbox/{attendee.api_key}/webhooks")
    requests.post(f"{room.url}/_sandbox/inbound", auth=attendee.auth, timeout=10,
                  json={"channel": "sms", "application_id": app["id"], "text": "hi"}).raise_for_status()
    deadline = time.monotonic() + 20
    while not _events(room, attendee) and time.monotonic() < deadline:
        time.sleep(0.05)
    (item,) = _events(room, attendee)
    assert item["path"] == "/webhooks/inbound" and item["headers"]["Authorization"].startswith("Bearer ")


def test_api_keys_keep_vonages_shape_and_prove_nothing_alone(room):
    """Vonage's api_key is 8 hex characters; the sandbox keeps that shape (see the README's threat model): with
    the mailbox closed to outsiders, a key without its secret opens nothing, so guessing one is no plan."""
    attendee = Attendee(room.url)
    assert re.fullmatch(r"[0-9a-f]{8}", attendee.api_key)
    assert len(attendee.api_secret) >= 16 and len(attendee.signature_secret) >= 32
    for path in ("events", "deliveries", "recipients", "clock", "openapi.json", "messages/x", "dispatches/x"):
        refused = requests.get(f"{room.url}/_sandbox/{path}", auth=(attendee.api_key, ""), timeout=10)
        assert refused.status_code == 401, path


def test_a_mailbox_item_and_all_items_together_are_bounded():
    db = Database(":memory:")
    mailbox = Mailbox(db)
    with pytest.raises(ValueError, match="at most"):
        mailbox.put(1, "/webhooks/status", "", {}, b"x" * (mailbox.max_item_bytes + 1))
    assert db.execute("SELECT COUNT(*) FROM mailbox").fetchone()[0] == 0
    mailbox.max_total_bytes = 200_000
    for n in range(300):  # the flooder: 3 MB in 10 KB items
        mailbox.put(1, "/webhooks/status", f"n={n}", {}, b"x" * 10_000)
    mailbox.put(2, "/webhooks/status", "", {}, b"{}")  # the victim's one small item
    db.commit()
    stored = db.execute("SELECT COALESCE(SUM(LENGTH(body)), 0) FROM mailbox").fetchone()[0]
    assert stored <= mailbox.max_total_bytes and stored == mailbox._bytes
    assert len(mailbox.since(2, 0)["events"]) == 1  # the largest mailbox paid for the flood, not the victim
    assert mailbox.since(1, 0)["missed"] >= 280
    db.close()


def test_the_kernel_takes_only_items_the_sandbox_sealed(tmp_path):
    """Defence in depth: were an item to reach a mailbox some other way, the reader would still refuse it, since
    only the sandbox (and the account) hold the signature secret the seal is made with."""
    from fbfailover import eventstream
    from fbfailover.webhooks.stream import StreamSource

    secret = "the-accounts-signature-secret-0123456789"
    source = StreamSource("http://127.0.0.1:9", "a1b2c3d4", "s", signature_secret=secret, wait=0)
    try:
        body = b"msisdn=447700900001&to=447700900000&messageId=m1&text=hi&type=text"
        items = [eventstream.encode_item(n, "/webhooks/inbound-sms", "", {
            "Content-Type": "application/x-www-form-urlencoded"}, body, time.time()) for n in (1, 2, 3)]
        items[0]["seal"] = eventstream.seal(secret, "e1", items[0])
        items[1]["seal"] = eventstream.seal("another-secret", "e1", items[1])  # items[2] has none
        source._take(eventstream.page(items, 0, 0, "e1"))
        reasons = [r.reason for r in source.rejections]
        assert len(reasons) == 2 and all("not sealed by the sandbox" in r for r in reasons)
        assert source.cursor == 3
    finally:
        source.stop()
