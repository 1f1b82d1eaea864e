"""The one event-stream protocol (``fbfailover.eventstream``), held by both servers that serve it: the workshop
sandbox's mailboxes (``/_sandbox/events``) and the live receiver's ``EventLog`` (``/_fbfailover/events``).

Every test runs against both. What differs between them is only how an event is made (a webhook the sandbox
delivers to its own mailbox; a webhook POSTed to the receiver) and where the long-poll caps live."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from fbfailover import eventstream
from fbfailover.eventstream import LongPolls
from fbfailover.webhooks.eventlog import EventLog
from fbfailover.webhooks.receiver import Receiver
from tests.sandbox.sandbox_helpers import create_app
from tests.sandbox.test_workshop import Attendee, start_workshop

KEY, SECRET = "key123", "secret456"
BODY = b'{"message_uuid": "m-1", "status": "delivered", "timestamp": "2026-01-01T00:00:00Z", "channel": "sms"}'
ITEM_FIELDS = {"id", "path", "query", "headers", "body", "body_encoding", "received"}
PROBLEM_FIELDS = {"type", "title", "detail", "instance", "status"}


@dataclass
class Server:
    name: str
    events_url: str
    auth: tuple[str, str]
    make_event: Callable[[], None]
    set_polls: Callable[[LongPolls], None]
    open_polls: Callable[[], int]
    signature_secret: str = ""


def _sandbox() -> Iterator[Server]:
    room = start_workshop()
    try:
        attendee = Attendee(room.url)
        app = create_app(attendee, None, f"{room.url}/_sandbox/mailbox/{attendee.api_key}/webhooks")

        def make_event() -> None:
            requests.post(f"{room.url}/_sandbox/inbound", auth=attendee.auth, timeout=10,
                          json={"channel": "sms", "application_id": app["id"], "text": "hi"}).raise_for_status()

        def set_polls(polls: LongPolls) -> None:
            room.core.mailbox.polls = polls

        yield Server("sandbox", room.url + eventstream.SANDBOX_PATH, attendee.auth, make_event, set_polls,
                     lambda: room.core.mailbox.polls.open, attendee.signature_secret)
    finally:
        room.stop()


def _receiver() -> Iterator[Server]:
    log = EventLog()
    handle = Receiver(0, None, event_log=log, log_credentials=(KEY, SECRET))
    try:
        def make_event() -> None:
            requests.post(handle.status_url, data=BODY, timeout=10,
                          headers={"Content-Type": "application/json"}).raise_for_status()

        def set_polls(polls: LongPolls) -> None:
            log.polls = polls

        yield Server("receiver", handle.local_url + eventstream.RECEIVER_PATH, (KEY, SECRET), make_event,
                     set_polls, lambda: log.polls.open)
    finally:
        handle.stop()


@pytest.fixture(params=["sandbox", "receiver"])
def server(request) -> Iterator[Server]:
    yield from (_sandbox() if request.param == "sandbox" else _receiver())


def _get(server: Server, auth: Any = "default", timeout: float = 10, **params) -> requests.Response:
    return requests.get(server.events_url, params=params, auth=server.auth if auth == "default" else auth,
                        timeout=timeout)


def _page_with_events(server: Server, after: int = 0) -> dict:
    """Wait on state: the first page after ``after`` that holds an event (the event may be delivered later)."""
    answer = _get(server, after=after, wait=10, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _is_problem(answer: requests.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body = answer.json()
    assert set(body) >= PROBLEM_FIELDS and body["status"] == status and body["type"] == eventstream.PROBLEM_TYPE
    return body


def test_credentials_come_first_and_unauthorized_is_spelled_one_way(server):
    for auth in (None, (server.auth[0], "wrong"), ("nobody", server.auth[1])):
        refused = _get(server, auth=auth, after="x" * 30)  # a bad query too: credentials are checked first
        body = _is_problem(refused, 401)
        assert body["title"] == eventstream.UNAUTHORIZED == "Unauthorized"
        assert refused.headers["WWW-Authenticate"].startswith("Basic ")
    broken = requests.get(server.events_url, headers={"Authorization": "Basic !!!not-base64"}, timeout=10)
    _is_problem(broken, 401)


BAD_QUERIES = [
    {"wait": "nan"}, {"wait": "NaN"}, {"wait": "inf"}, {"wait": "-inf"}, {"wait": "-1"}, {"wait": "25.5"},
    {"wait": "1e400"}, {"wait": "soon"}, {"after": "-1"}, {"after": str(2**63)}, {"after": "9" * 5000},
    {"after": "1.5"}, {"after": "0x10"}, {"after": "\uff11"}, {"limit": "0"}, {"limit": "501"}, {"limit": "many"},
]


@pytest.mark.parametrize("query", BAD_QUERIES, ids=lambda q: "&".join(f"{k}={v[:12]}" for k, v in q.items()))
def test_a_bad_query_is_a_400_naming_the_parameter(server, query):
    body = _is_problem(_get(server, **query), 400)
    assert [p["name"] for p in body["invalid_parameters"]] == list(query)


def test_the_largest_cursor_and_wait_are_accepted(server):
    answer = _get(server, after=str(eventstream.MAX_CURSOR), wait="0", limit="500")
    assert answer.status_code == 200 and answer.json()["events"] == []


def test_the_page_and_its_items_have_one_shape(server):
    empty = _get(server).json()
    assert set(empty) == {"events", "cursor", "missed", "epoch"} and empty["events"] == []
    server.make_event()
    page = _page_with_events(server)
    (item, *_) = page["events"]
    assert set(item) - {"seal"} == ITEM_FIELDS and item["body_encoding"] == "utf-8"
    if server.name == "sandbox":  # a sandbox seals what it hands out with the account's signature secret
        assert eventstream.sealed(server.signature_secret, page["epoch"], item)
    assert set(item["headers"]) <= set(eventstream.KEPT_HEADERS) and "Content-Type" in item["headers"]
    assert page["cursor"] == page["events"][-1]["id"] and page["epoch"] == empty["epoch"]
    latest = _get(server, after="latest").json()
    assert latest["events"] == [] and latest["cursor"] == page["cursor"]
    assert _get(server, after=page["cursor"]).json()["events"] == []


def test_a_long_poll_is_woken_by_the_event_that_answers_it(server):
    cursor = _get(server, after="latest").json()["cursor"]
    answers: list[requests.Response] = []
    poll = threading.Thread(target=lambda: answers.append(_get(server, after=cursor, wait=20, timeout=30)))
    poll.start()
    deadline = time.monotonic() + 10
    while server.open_polls() < 1 and time.monotonic() < deadline:  # wait on state: the poll is waiting
        time.sleep(0.01)
    assert server.open_polls() == 1
    sent = time.monotonic()
    server.make_event()
    poll.join(30)
    assert answers and answers[0].status_code == 200 and answers[0].json()["events"]
    assert time.monotonic() - sent < 10  # woken, not timed out (the poll asked for 20 s)
    assert server.open_polls() == 0


def test_past_the_long_poll_cap_a_reader_gets_429_with_retry_after(server):
    server.set_polls(LongPolls(per_key=1, total=1))
    cursor = _get(server, after="latest").json()["cursor"]
    first: list[requests.Response] = []
    holder = threading.Thread(target=lambda: first.append(_get(server, after=cursor, wait=5, timeout=30)))
    holder.start()
    deadline = time.monotonic() + 10
    while server.open_polls() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    refused = _get(server, after=cursor, wait=5)
    _is_problem(refused, 429)
    assert refused.headers["Retry-After"] == str(eventstream.RETRY_AFTER)
    assert _get(server, after=cursor).status_code == 200  # a read that does not wait takes no slot
    server.make_event()
    holder.join(30)
    assert first and first[0].status_code == 200
    assert server.open_polls() == 0  # the slot is given back


def test_parse_query_and_basic_credentials_are_pure():
    assert eventstream.parse_query({"after": "latest"}.get).after is None
    assert eventstream.parse_query({}.get) == eventstream.Query(0, 0.0, eventstream.DEFAULT_LIMIT)
    with pytest.raises(eventstream.QueryError) as caught:
        eventstream.parse_query({"wait": "nan", "after": "-3"}.get)
    assert {p["name"] for p in caught.value.problems} == {"wait", "after"}
    assert eventstream.basic_credentials("Basic a2V5OnNlY3JldA==") == ("key", "secret")
    assert eventstream.basic_credentials("basic  a2V5OnNlY3JldA== ") == ("key", "secret")
    for bad in (None, "", "Bearer x", "Basic", "Basic a2V5", "Basic ***", "Basic //79"):
        assert eventstream.basic_credentials(bad) is None
    binary = eventstream.encode_item(1, "/p", "", {}, b"\xff\x00", 0.0)
    assert binary["body_encoding"] == "base64" and eventstream.decode_body(binary) == b"\xff\x00"
