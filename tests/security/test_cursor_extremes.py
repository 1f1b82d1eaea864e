"""Findings 4 and 5, numbers: cursors, pages and waits at and past their ends answer 400, never 500.

Before: ``after=`` past 2^63 raised ``OverflowError`` in SQLite (500), ``page=`` likewise, and ``wait=nan`` slipped
past a ``< 0`` check into the timer heap, where it froze every other account's long-polls (a 1 s poll answered
after 14.8 s). The receiver's ``EventLog`` serves the same protocol and is checked in
``tests/test_event_stream_protocol.py``; here are the sandbox's own routes and the receiver's extremes."""

from __future__ import annotations

import pytest
import requests

from fbfailover.webhooks.eventlog import EVENTS_PATH, EventLog
from fbfailover.webhooks.receiver import Receiver
from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET

HUGE = [str(2**63), str(2**64 + 1), "9" * 400, "-" + str(2**63 + 1), "1e30", "nan", "inf"]


@pytest.mark.parametrize("value", HUGE)
def test_a_page_past_every_integer_is_a_400(sandbox, value):
    answer = requests.get(f"{sandbox.url}/v2/applications", params={"page": value}, auth=(API_KEY, API_SECRET),
                          timeout=10)
    assert answer.status_code == 400 and answer.json()["invalid_parameters"][0]["name"] == "page"


@pytest.mark.parametrize("value", HUGE)
def test_a_cursor_past_every_integer_is_a_400_on_both_streams(sandbox, value):
    answer = requests.get(f"{sandbox.url}/_sandbox/events", params={"after": value}, auth=(API_KEY, API_SECRET),
                          timeout=10)
    assert answer.status_code == 400 and answer.json()["invalid_parameters"][0]["name"] == "after"
    handle = Receiver(0, None, event_log=EventLog(), log_credentials=("k", "s"))
    try:
        answer = requests.get(handle.local_url + EVENTS_PATH, params={"after": value}, auth=("k", "s"), timeout=10)
        assert answer.status_code == 400 and answer.json()["invalid_parameters"][0]["name"] == "after"
    finally:
        handle.stop()


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-0.5", "1e308", "25.01"])
def test_a_wait_that_is_no_time_is_a_400_and_the_sandbox_keeps_answering(sandbox, value):
    answer = requests.get(f"{sandbox.url}/_sandbox/events", params={"wait": value}, auth=(API_KEY, API_SECRET),
                          timeout=10)
    assert answer.status_code == 400 and answer.json()["invalid_parameters"][0]["name"] == "wait"
    assert requests.get(f"{sandbox.url}/_sandbox/events", params={"wait": "0.2"}, auth=(API_KEY, API_SECRET),
                        timeout=10).status_code == 200
