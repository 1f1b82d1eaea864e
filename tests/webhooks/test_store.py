"""The event store: bound, dedupe, wait_for, subscribers, JSON-lines file."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest

from fbfailover import errors
from fbfailover.webhooks import EventStore, WaitTimeout, make_event
from tests.webhooks.webhook_helpers import DISPATCH, final_report_body, status_body


def status(n: int = 0, state: str = "submitted", **kwargs):
    timestamp = f"2018-10-19T11:33:{n % 60:02d}.{n:03d}Z"
    return make_event("/webhooks/status", status_body(state, timestamp=timestamp, **kwargs))


def test_add_assigns_seq_and_time():
    store = EventStore()
    event, new = store.add(status(1))
    assert new
    assert event.seq == 1
    assert event.received_at == pytest.approx(time.time(), abs=5)
    assert store.events() == [event]


def test_duplicates_are_dropped_but_counted():
    store = EventStore()
    first, _ = store.add(status(1))
    again, new = store.add(status(1))
    assert not new
    assert again is first
    assert first.deliveries == 2
    store.add(make_event("/webhooks/status", final_report_body()))
    store.add(make_event("/webhooks/status", final_report_body()))
    assert len(store) == 2
    assert store.stats.duplicates == 2
    assert store.stats.accepted == 2


def test_bound_drops_oldest_and_counts():
    store = EventStore(max_events=3)
    for n in range(5):
        store.add(status(n))
    assert [e.seq for e in store.events()] == [3, 4, 5]
    assert store.stats.dropped == 2
    # a dropped event's key is forgotten: its redelivery is stored again
    _, new = store.add(status(0))
    assert new


def test_bound_must_be_positive():
    with pytest.raises(ValueError):
        EventStore(max_events=0)


def test_filters():
    store = EventStore()
    store.add(status(1))
    store.add(status(2, "delivered", channel="sms", message_uuid="m-sms"))
    store.add(make_event("/webhooks/status", final_report_body()))
    store.add(status(3, dispatch_uuid="other"))
    assert [e.kind for e in store.events("status", DISPATCH)] == ["status", "status"]
    assert len(store.events(dispatch_uuid=DISPATCH)) == 3
    assert [e.status for e in store.events(channel="sms")] == ["delivered"]


def test_wait_for_an_event_added_later_from_another_thread():
    store = EventStore()
    timer = threading.Timer(0.1, lambda: store.add(make_event("/webhooks/status", final_report_body())))
    timer.start()
    try:
        event = store.wait_for("final_report", dispatch_uuid=DISPATCH, timeout=5)
    finally:
        timer.join()
    assert event.status == "completed"


def test_wait_for_returns_an_event_already_there_and_honours_after():
    store = EventStore()
    first, _ = store.add(status(1))
    assert store.wait_for("status", timeout=0) is first
    with pytest.raises(WaitTimeout):
        store.wait_for("status", timeout=0.05, after=first.seq)


def test_wait_for_predicate():
    store = EventStore()
    store.add(status(1))
    store.add(status(2, "delivered"))
    assert store.wait_for(predicate=lambda e: e.status == "delivered", timeout=0).seq == 2


def test_timeout_lists_what_arrived():
    store = EventStore()
    store.add(status(1))
    store.add(status(2, "delivered"))
    with pytest.raises(WaitTimeout) as info:
        store.wait_for("final_report", dispatch_uuid=DISPATCH, timeout=0.05)
    error = info.value
    assert isinstance(error, TimeoutError)
    assert isinstance(error, errors.FbfailoverError)
    text = str(error)
    assert "kind=final_report" in text and DISPATCH in text
    assert "#1 status messenger submitted, #2 status messenger delivered" in text
    assert [e.seq for e in error.arrived] == [1, 2]


def test_timeout_when_nothing_arrived_says_so():
    with pytest.raises(WaitTimeout, match="nothing arrived"):
        EventStore().wait_for("status", timeout=0.01)


def test_subscribers_run_off_the_adding_thread_and_a_slow_one_does_not_block():
    store = EventStore()
    seen: list[tuple[int, str]] = []
    release = threading.Event()

    def slow(event):
        release.wait(5)
        seen.append((event.seq, threading.current_thread().name))

    unsubscribe = store.subscribe(slow)
    started = time.perf_counter()
    for n in range(20):
        store.add(status(n))
    assert time.perf_counter() - started < 0.5
    assert seen == []
    release.set()
    store.flush()
    assert [s for s, _ in seen] == list(range(1, 21))
    assert {name for _, name in seen} == {"fbfailover-webhook-events"}
    unsubscribe()
    store.add(status(30))
    store.flush()
    assert len(seen) == 20
    store.close()


def test_broken_subscriber_is_recorded_not_raised():
    store = EventStore()
    got = []
    store.subscribe(lambda e: 1 / 0)
    store.subscribe(got.append)
    store.add(status(1))
    store.flush()
    assert len(got) == 1
    assert isinstance(store.callback_errors[0], ZeroDivisionError)
    store.close()


def test_rejections_reach_only_subscribers_that_ask():
    store = EventStore()
    plain, all_items = [], []
    store.subscribe(plain.append)
    store.subscribe(all_items.append, rejections=True)
    store.reject("/webhooks/status", "bad signature")
    store.flush()
    assert plain == []
    assert all_items[0].reason == "bad signature"
    assert store.stats.rejected == 1
    assert store.rejections[0].route == "/webhooks/status"
    store.close()


def test_json_lines_file(tmp_path):
    path = tmp_path / "events.jsonl"
    store = EventStore(path=path)
    store.add(status(1))
    store.add(status(1))  # duplicate: not written again
    store.add(make_event("/webhooks/status", final_report_body()))
    store.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["seq"], line["kind"]) for line in lines] == [(1, "status"), (2, "final_report")]
    assert lines[1]["body"]["template"] == "failover"
    store.close()  # twice is fine


def test_wait_until_returns_what_the_predicate_found_once_the_state_holds():
    store = EventStore()
    store.add(status(1, "submitted"))

    def both(events):
        found = [e.status for e in events if e.kind == "status"]
        return found if {"submitted", "delivered"} <= set(found) else None

    adder = threading.Thread(target=lambda: store.add(status(2, "delivered")))
    seen_before = store.wait_until(lambda events: [e.status for e in events], 1)
    assert seen_before == ["submitted"]
    adder.start()
    try:
        assert store.wait_until(both, 10, wanted="submitted and delivered") == ["submitted", "delivered"]
    finally:
        adder.join()


def test_wait_until_times_out_naming_what_it_waited_for_and_ticks_meanwhile():
    store = EventStore()
    store.add(status(1, "submitted"))
    ticks = []
    with pytest.raises(WaitTimeout, match="a delivered status") as caught:
        store.wait_until(lambda events: None, 0.3, wanted="a delivered status", tick=0.05,
                         on_tick=lambda: ticks.append(1))
    assert "submitted" in str(caught.value) and ticks


@pytest.mark.parametrize("how", ["wait_for", "wait_until"])
def test_a_waiting_thread_is_woken_by_the_event_it_waits_for(how):
    """add() notifies only when a thread waits: one that waits an hour must still return once the event is there."""
    store = EventStore()
    found = []
    wait = {"wait_for": lambda: store.wait_for("final_report", timeout=3600),
            "wait_until": lambda: store.wait_until(lambda events: events and events[0], 3600)}[how]
    waiter = threading.Thread(target=lambda: found.append(wait()), daemon=True)
    waiter.start()
    while store._waiters == 0:  # the waiter is inside its wait
        time.sleep(0.001)
    store.add(make_event("/webhooks/status", final_report_body()))
    waiter.join(10)  # a bound for a failing run, far under the hour
    assert not waiter.is_alive() and found[0].kind == "final_report" and store._waiters == 0


def test_on_batch_end_follows_each_batch_its_subscriber_had_items_in_and_comes_before_flush_returns():
    store = EventStore()
    log: list = []
    store.subscribe(lambda e: log.append(e.seq), on_batch_end=lambda: log.append("end"))
    broken: list = []
    store.subscribe(broken.append, rejections=True, on_batch_end=lambda: 1 / 0)
    for n in range(5):
        store.add(status(n))
    store.flush()
    assert log[-1] == "end" and log[0] != "end"
    assert [x for x in log if x != "end"] == [1, 2, 3, 4, 5]
    assert all(a != "end" for a, b in itertools.pairwise(log) if b == "end")  # no end without an item before
    assert len(broken) == 5 and isinstance(store.callback_errors[0], ZeroDivisionError)
    ends = log.count("end")
    store.reject("/webhooks/status", "bad signature")  # not an item for the first subscriber: no end for it
    store.flush()
    assert log.count("end") == ends and len(broken) == 6
    store.close()
