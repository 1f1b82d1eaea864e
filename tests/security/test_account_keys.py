"""Finding 2's last sentence: "use account keys long enough that guessing one is not a plan".

The sandbox keeps Vonage's api_key shape (8 hex characters, 32 bits: see the README's threat model) and makes the
key grant nothing on its own. Here, an attacker in the room who knows a victim's api_key (it is on the projected
dashboard and in mailbox URLs) but not the secret: every route answers exactly as it does for a key that does not
exist, the attacker's own webhooks cannot be steered into the victim's mailbox, and the secrets behind a key are
out of guessing reach. (Reading the victim's stream, posting into its mailbox and making the dashboard blame the
victim are in ``test_mailbox_forgery.py`` and ``test_workshop_boundaries.py``.)
"""

from __future__ import annotations

import math
import re
import string
import time

import pytest
import requests

from tests.sandbox.sandbox_helpers import create_app, mint, post_dispatch, tutorial_body
from tests.sandbox.test_workshop import Attendee

UNKNOWN = "0f0f0f0f"
#: Every route that takes credentials, with a body where it takes one.
ROUTES = [
    ("GET", "/v2/applications", None),
    ("POST", "/v2/applications", {"name": "x"}),
    ("GET", "/v2/applications/00000000-0000-4000-8000-000000000000", None),
    ("PUT", "/v2/applications/00000000-0000-4000-8000-000000000000", {"name": "x"}),
    ("DELETE", "/v2/applications/00000000-0000-4000-8000-000000000000", None),
    ("POST", "/account/settings", None),
    ("POST", "/v0.1/dispatch", tutorial_body()),
    ("POST", "/v1/messages", {"channel": "sms", "message_type": "text", "to": "447700900001",
                              "from": "447700900000", "text": "hi"}),
    ("POST", "/v0.1/messages", {"to": {"type": "sms", "number": "447700900001"}}),
    ("GET", "/_sandbox/events", None),
    ("GET", "/_sandbox/events?after=0&wait=1", None),
    ("GET", "/_sandbox/deliveries", None),
    ("GET", "/_sandbox/recipients", None),
    ("PUT", "/_sandbox/recipients/sms/447700900001", {"status": "delivered"}),
    ("PUT", "/_sandbox/recipients/nosuchchannel/1", {}),
    ("GET", "/_sandbox/recipients/nosuchchannel/1", None),
    ("DELETE", "/_sandbox/recipients/nosuchchannel/1", None),
    ("DELETE", "/_sandbox/recipients", None),
    ("POST", "/_sandbox/inbound", {"channel": "sms", "text": "hi"}),
    ("PUT", "/_sandbox/attendee", {"name": "Mallory"}),
    ("GET", "/_sandbox/clock", None),
    ("POST", "/_sandbox/clock/advance", {"seconds": 60}),
    ("GET", "/_sandbox/", None),
    ("GET", "/_sandbox/openapi.json", None),
    ("GET", "/_sandbox/messages/00000000-0000-4000-8000-000000000000", None),
    ("GET", "/_sandbox/dispatches/00000000-0000-4000-8000-000000000000", None),
]


def _answer(room, method: str, path: str, body, key: str, how: str) -> tuple[int, dict]:
    """One request naming ``key`` with a guessed secret (Basic, or the Account API's query), as seen by the caller:
    the status and the body without its per-answer ``instance``."""
    kwargs: dict = {"json": body} if body is not None else {}
    if how == "basic":
        kwargs["auth"] = (key, "GuessedSecret123")
    else:
        kwargs["params"] = {"api_key": key, "api_secret": "GuessedSecret123"}
    answer = requests.request(method, room.url + path, timeout=10, **kwargs)
    seen = answer.json() if answer.content else {}
    if isinstance(seen, dict):
        seen.pop("instance", None)
    return answer.status_code, seen


@pytest.mark.parametrize("how", ["basic", "query"])
def test_a_known_key_without_its_secret_is_answered_as_a_key_that_does_not_exist(room, how):
    victim = Attendee(room.url)
    for method, path, body in ROUTES:
        known = _answer(room, method, path, body, victim.api_key, how)
        unknown = _answer(room, method, path, body, UNKNOWN, how)
        assert known == unknown, (method, path)
        assert known[0] in (401, 403), (method, path, known)  # and it opens nothing


def test_a_key_cannot_steer_ones_own_webhooks_into_its_mailbox(room, key_pair):
    victim, mallory = Attendee(room.url), Attendee(room.url)
    events = f"{room.url}/_sandbox/events"
    before = requests.get(events, auth=victim.auth, params={"after": 0}, timeout=10).json()
    for key in (victim.api_key, UNKNOWN):  # the victim's mailbox, and one of a key that does not exist
        app = create_app(mallory, key_pair[1], f"{room.url}/_sandbox/mailbox/{key}/webhooks")
        assert post_dispatch(mallory, mint(app["id"], key_pair[0])).status_code == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # wait on state: both dispatches' first webhooks were attempted
        deliveries = requests.get(f"{room.url}/_sandbox/deliveries", auth=mallory.auth, timeout=10).json()
        attempts = [a for d in deliveries["deliveries"] for a in d["attempts"]]
        if len({d["url"].split("/mailbox/")[1].split("/")[0] for d in deliveries["deliveries"] if d["attempts"]}) == 2:
            break
        time.sleep(0.05)
    assert attempts and {(a["status_code"], a.get("error")) for a in attempts} == {
        (403, "the mailbox of another account")}  # the same for the victim's key and an unknown one
    after = requests.get(events, auth=victim.auth, params={"after": 0}, timeout=10).json()
    assert after["events"] == before["events"] and after["missed"] == before["missed"]


def test_the_secrets_behind_a_key_are_out_of_guessing_reach(room):
    attendees = [Attendee(room.url) for _ in range(3)]
    alphabet = set(string.ascii_letters + string.digits)
    for attendee in attendees:
        assert re.fullmatch(r"[0-9a-f]{8}", attendee.api_key)  # Vonage's shape, kept
        assert len(attendee.api_secret) >= 16 and set(attendee.api_secret) <= alphabet
        assert len(attendee.signature_secret) >= 32
    assert 16 * math.log2(len(alphabet)) > 95  # bits of an api_secret: a key alone is 32 bits of 127
    secrets_seen = [s for a in attendees for s in (a.api_secret, a.signature_secret)]
    assert len(set(secrets_seen)) == len(secrets_seen)
    assert len({a.api_key for a in attendees}) == len(attendees)
