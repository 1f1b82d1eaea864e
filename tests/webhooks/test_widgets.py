"""The live views, headless: models updated from the server thread, deterministic text/plain."""

from __future__ import annotations

import base64
import re

from fbfailover.webhooks import EventStore, make_event
from fbfailover.widgets import EventFeed, FailoverTimeline
from tests.webhooks.webhook_helpers import DISPATCH, MSG_SMS, final_report_body, post, status_body

T = "2020-01-01T00:{}Z"


def failover_events() -> list:
    bodies = [
        status_body("submitted", timestamp=T.format("00:00.000")),
        status_body("delivered", timestamp=T.format("00:01.200")),
        status_body("submitted", message_uuid=MSG_SMS, channel="sms", timestamp=T.format("10:00.300")),
        status_body("delivered", message_uuid=MSG_SMS, channel="sms", timestamp=T.format("10:02.000")),
        final_report_body(timestamp=T.format("10:02.100")),
    ]
    return [make_event("/webhooks/status", body) for body in bodies]


def test_timeline_text_is_deterministic_and_has_no_ids():
    timeline = FailoverTimeline(failover_events(), DISPATCH, expiry_time=600, condition_status="read")
    expected = ("FailoverTimeline(dispatch, completed): messenger submitted@0s delivered@1s | "
                "sms submitted@600s delivered@602s | deadline 600s")
    assert repr(timeline) == expected
    bundle = timeline._repr_mimebundle_()
    assert bundle["text/plain"] == expected
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "text/html" not in bundle  # renderers would prefer it to the PNG, and GitHub strips its styles
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert "failover to sms after 600 s (not read)" in timeline.value
    assert "deadline 600s" in timeline.value
    snapshot = timeline.snapshot()
    assert snapshot._repr_mimebundle_() == {"text/html": timeline.value, "text/plain": expected}
    # same events in another order, received at other times: same text
    shuffled = list(reversed(failover_events()))
    assert repr(FailoverTimeline(shuffled, DISPATCH, expiry_time=600)) == expected
    timeline.close()


def test_timeline_states():
    assert repr(FailoverTimeline([], DISPATCH)) == "FailoverTimeline(dispatch, waiting): no events yet"
    partial = FailoverTimeline(failover_events()[:2], DISPATCH)
    assert repr(partial) == "FailoverTimeline(dispatch, in progress): messenger submitted@0s delivered@1s"
    rejected = [make_event("/webhooks/status", status_body("rejected", timestamp=T.format("00:00.000"))),
                make_event("/webhooks/status", status_body("submitted", message_uuid=MSG_SMS, channel="sms",
                                                           timestamp=T.format("00:00.500")))]
    assert "failover to sms after 0 s (rejected)" in FailoverTimeline(rejected, DISPATCH).value
    others = [make_event("/webhooks/status", status_body(dispatch_uuid="another"))]
    assert "waiting" in repr(FailoverTimeline(others, DISPATCH))


def _v1(uuid: str, channel: str, status: str, item: int, at: str) -> object:
    body = {"message_uuid": uuid, "to": "447700900000", "from": "447700900001", "channel": channel,
            "timestamp": T.format(at), "status": status, "workflow": {"id": "wf-1", "item_number": item,
                                                                       "items_total": 2}}
    return make_event("/webhooks/status", body)


def test_timeline_follows_a_v1_workflow_id():
    events = [_v1("m-1", "messenger", "rejected", 1, "00:00.000"), _v1("m-1", "messenger", "submitted", 1, "00:00.000")]
    timeline = FailoverTimeline(events, "wf-1")
    # same-moment statuses are drawn in their natural order, whatever order they arrived in
    assert repr(timeline) == "FailoverTimeline(workflow, in progress): messenger submitted@0s rejected@0s"
    assert "Workflow wf-1" in timeline.value
    events += [_v1("m-2", "sms", "submitted", 2, "00:00.500"), _v1("m-2", "sms", "delivered", 2, "00:02.000")]
    assert FailoverTimeline(events, "wf-1").data.state == "delivered"
    events[-1] = _v1("m-2", "sms", "undeliverable", 2, "00:02.000")
    assert FailoverTimeline(events, "wf-1").data.state == "failed"


def test_feed_text_table_and_details():
    store = EventStore()
    feed = EventFeed(store)
    assert repr(feed) == "EventFeed: no events yet"
    assert "no events yet" in feed.table.value
    for event in failover_events():
        store.add(event)
    feed.refresh()
    assert repr(feed) == "EventFeed: 5 events (status 4, final_report 1)"
    rows = feed.table.value.split("<tr>")[2:]
    assert "final_report" in rows[0] and "submitted" in rows[-1]  # newest first
    assert feed.select.value.seq == 5
    assert feed.output.outputs == ()
    feed.details.value = True
    assert '"template": "failover"' in feed.output.outputs[0]["data"]["text/plain"]
    oldest = feed.select.options[-1][1]
    feed.select.value = oldest
    assert '"status": "submitted"' in feed.output.outputs[0]["data"]["text/plain"]
    store.add(make_event("/webhooks/status", status_body("read", timestamp=T.format("20:00.000"))))
    feed.refresh()
    assert feed.select.value is oldest  # a picked event stays picked
    feed.select.value = feed.select.options[0][1]
    store.add(make_event("/webhooks/status", status_body("read", timestamp=T.format("21:00.000"))))
    feed.refresh()
    assert feed.select.value.seq == 7  # picking the newest follows new ones again
    feed.details.value = False
    assert feed.output.outputs == ()
    bundle = feed._repr_mimebundle_()
    assert bundle["text/plain"] == repr(feed) == "EventFeed: 7 events (status 6, final_report 1)"
    assert bundle["text/html"] == feed.table.value == feed.snapshot().html
    feed.close()
    store.close()


def test_feed_limit():
    feed = EventFeed(failover_events(), limit=2)
    assert feed.table.value.count("<tr>") == 3  # header + 2
    labels = [label for label, _ in feed.select.options]
    assert labels == ["#2 final_report completed", "#1 status sms delivered"]


def test_updates_from_the_server_thread_reach_the_widget_models(receiver):
    feed = EventFeed(receiver)
    timeline = FailoverTimeline(receiver, DISPATCH, expiry_time=600)
    feed.details.value = True
    for event in failover_events():
        assert post(receiver.status_url, event.body).status_code == 200
    receiver.store.flush()
    assert repr(feed) == "EventFeed: 5 events (status 4, final_report 1)"
    assert feed.get_state()["children"]  # a live model
    assert "final_report" in feed.table.get_state()["value"]
    assert "accepting unsigned webhooks" in feed.table.value
    assert '"template": "failover"' in feed.output.outputs[0]["data"]["text/plain"]
    assert "completed" in repr(timeline)
    assert "failover to sms after 600 s" in timeline.get_state()["value"]
    timeline.close()
    feed.close()
    post(receiver.status_url, status_body("read", timestamp=T.format("20:00.000")))
    receiver.store.flush()
    assert "read" not in repr(timeline)  # closed views stop listening


def test_rows_follow_the_workflow_order_not_the_arrival_order():
    # a rejection fails over at once: both messages start at the same simulated moment
    events = [_v1("m-2", "sms", "submitted", 2, "00:00.000"), _v1("m-1", "messenger", "submitted", 1, "00:00.000"),
              _v1("m-1", "messenger", "rejected", 1, "00:00.000"), _v1("m-2", "sms", "delivered", 2, "00:02.000")]
    assert [row.channel for row in FailoverTimeline(events, "wf-1").data.rows] == ["messenger", "sms"]


def test_feed_rows_are_newest_first_by_the_webhooks_own_time():
    arrived = [_v1("m-2", "sms", "delivered", 2, "00:02.000"), _v1("m-1", "messenger", "rejected", 1, "00:00.000"),
               _v1("m-1", "messenger", "submitted", 1, "00:00.000"), _v1("m-2", "sms", "submitted", 2, "00:00.000")]
    rows = EventFeed(arrived).table.value.split("<tr>")[2:]
    assert [("sms" in r, r.split("</td>")[4].rsplit(">", 1)[-1]) for r in rows] == [
        (True, "delivered"), (True, "submitted"), (False, "rejected"), (False, "submitted")]


def test_close_status_labels_go_to_separate_lanes():
    from fbfailover.widgets.timeline import MessageRow, TimelineData, timeline_html

    row = MessageRow(1, "messenger", "m", (("submitted", 0), ("delivered", 1), ("read", 60)))
    page = timeline_html(TimelineData("d", "completed", (row,), 60, 600, None, None))
    assert re.findall(r"top:(\d+)px;white-space", page) == ["0", "20", "40"]


def test_timeline_of_a_v1_workflow_with_numbers_as_strings_and_no_submitted():
    from tests.webhooks.webhook_helpers import status_v1

    def ev(item, status, second):
        workflow = {"id": "wf-1", "item_number": str(item), "total_items": "2"}
        return make_event("/webhooks/status", status_v1(status, message_uuid=f"m{item}", workflow=workflow,
                                                        channel="messenger" if item == 1 else "sms",
                                                        timestamp=T.format(f"00:0{second}.000")))

    events = [ev(2, "delivered", 2), ev(1, "rejected", 0), ev(2, "submitted", 0)]  # out of order
    assert repr(FailoverTimeline(events, "wf-1")) == (
        "FailoverTimeline(workflow, delivered): messenger rejected@0s | sms submitted@0s delivered@2s")


def test_timeline_places_v1_shaped_dispatch_statuses_by_the_final_report():
    from tests.webhooks.webhook_helpers import MSG_FB, status_v1

    bodies = [status_v1("submitted", timestamp=T.format("00:00.000")),
              status_v1("submitted", message_uuid=MSG_SMS, channel="sms", timestamp=T.format("10:00.000")),
              status_v1("delivered", message_uuid=MSG_SMS, channel="sms", timestamp=T.format("10:02.000")),
              final_report_body(timestamp=T.format("10:02.100"))]
    events = [make_event("/webhooks/status", b) for b in bodies]
    assert MSG_FB in {e.message_uuid for e in events}
    assert repr(FailoverTimeline(events, DISPATCH, expiry_time=600)) == (
        "FailoverTimeline(dispatch, completed): messenger submitted@0s | sms submitted@600s delivered@602s"
        " | deadline 600s")


def test_feed_lists_v1_events_like_the_others():
    from tests.webhooks.webhook_helpers import INBOUND_V1, status_v1

    events = [make_event("/webhooks/inbound", INBOUND_V1), make_event("/webhooks/status", status_v1("read"))]
    feed = EventFeed(events)
    assert repr(feed) == "EventFeed: 2 events (inbound 1, status 1)"
    assert "messenger" in feed.html() and "read" in feed.html()


def test_live_views_say_when_their_event_stream_stopped():
    from fbfailover import webhooks

    receiver = webhooks.start(0, replace=False)
    feed = EventFeed(receiver)
    timeline = FailoverTimeline(receiver, DISPATCH, expiry_time=600)
    assert receiver.stopped_at is None and "stopped" not in repr(feed) and "stopped" not in feed.table.value
    receiver.stop()
    receiver.stop()  # said once
    assert receiver.stopped_at is not None
    for view in (feed, timeline):
        assert re.search(r"The event stream stopped at \d\d:\d\d:\d\d UTC", repr(view))
        assert "fbfailover-stream-stopped" in view.html() and view.html().count("stream stopped") == 1
    static = EventFeed(failover_events())  # a list of events has no stream: nothing to say
    assert "stopped" not in repr(static)
