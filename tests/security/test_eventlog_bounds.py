"""Finding 3, the receiver's side of the stream: the ``EventLog`` bounds bytes as well as count (10 unsigned
20 MB posts took the receiver from 44 MB to 487 MB before). Its body limit per route is the receiver's own."""

from __future__ import annotations

from fbfailover.webhooks.eventlog import MAX_BYTES, EventLog


def test_the_log_keeps_at_most_max_bytes_of_bodies_and_counts_what_it_dropped():
    log = EventLog(max_bytes=10_000)
    for n in range(100):
        log.add("/webhooks/status", {"Content-Type": "application/json"}, b"x" * 1_000, query=f"n={n}")
    page = log.after(0)
    assert log.bytes <= 10_000 and len(page["events"]) == 10
    assert page["events"][-1]["query"] == "n=99" and page["missed"] == 90
    assert MAX_BYTES == 64 * 1024 * 1024


def test_one_item_larger_than_the_bound_replaces_everything_before_it():
    log = EventLog(max_bytes=10_000)
    log.add("/webhooks/status", {}, b"small")
    log.add("/webhooks/status", {}, b"y" * 20_000)
    page = log.after(0)
    assert [len(e["body"]) for e in page["events"]] == [20_000] and page["missed"] == 1
    log.add("/webhooks/status", {}, b"z")
    assert [e["body"] for e in log.after(2)["events"]] == ["z"] and log.bytes == 1
