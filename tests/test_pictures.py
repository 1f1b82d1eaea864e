"""The pictures a reader without a kernel sees, the feed's simulated times and the forms' static forms."""

from __future__ import annotations

import base64

import pytest

from fbfailover.webhooks import make_event
from fbfailover.widgets import EventFeed, FailoverTimeline
from fbfailover.widgets.feed import feed_legend, simulated_seconds
from fbfailover.widgets.pictures import sequence_steps, sequence_text
from fbfailover.widgets.timeline import build_timeline
from tests.webhooks.webhook_helpers import DISPATCH, MSG_SMS, final_report_body, status_body, status_v1

T = "2020-01-01T00:{}Z"


def dispatch_events(*, rejected: bool = False) -> list:
    """A stored v0.1 dispatch: Messenger not read (or rejected), SMS delivered, the final report."""
    sms_at = "00:00.400" if rejected else "10:00.300"
    bodies = [
        status_body("submitted", timestamp=T.format("00:00.000")),
        status_body("rejected" if rejected else "delivered",
                    timestamp=T.format("00:00.200" if rejected else "00:01.200")),
        status_body("submitted", message_uuid=MSG_SMS, channel="sms", timestamp=T.format(sms_at)),
        status_body("delivered", message_uuid=MSG_SMS, channel="sms", timestamp=T.format("10:02.000")),
        final_report_body(timestamp=T.format("10:02.100")),
    ]
    return [make_event("/webhooks/status", body) for body in bodies]


def v1_events() -> list:
    """A stored Messages API v1 workflow: Messenger rejected, the SMS from its failover list delivered."""
    def wf(item: int) -> dict:
        return {"id": "wf-1", "item_number": item, "items_total": 2}

    bodies = [status_v1("submitted", timestamp=T.format("00:00.000"), workflow=wf(1)),
              status_v1("rejected", timestamp=T.format("00:00.000"), workflow=wf(1)),
              status_v1("submitted", message_uuid=MSG_SMS, channel="sms", timestamp=T.format("00:00.500"),
                        workflow=wf(2)),
              status_v1("delivered", message_uuid=MSG_SMS, channel="sms", timestamp=T.format("00:02.000"),
                        workflow=wf(2))]
    return [make_event("/webhooks/status", body) for body in bodies]


def png_of(bundle: dict) -> bytes:
    data = base64.b64decode(bundle["image/png"])
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return data


@pytest.mark.parametrize(("events", "uuid", "first_line"), [
    (dispatch_events(), DISPATCH, "Sequence(dispatch, completed): 13 steps"),
    (v1_events(), "wf-1", "Sequence(workflow, delivered): 12 steps"),
], ids=["v0.1 dispatch", "v1 workflow"])
def test_timeline_and_sequence_pictures_from_stored_events(events, uuid, first_line):
    import matplotlib

    backend, rc = matplotlib.get_backend(), dict(matplotlib.rcParams)
    timeline = FailoverTimeline(events, uuid, expiry_time=600 if uuid == DISPATCH else None)
    bundle = timeline._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" not in bundle
    assert bundle["text/plain"] == repr(timeline)
    picture = png_of(bundle)
    assert png_of(timeline.picture()._repr_mimebundle_()) == picture  # the same run draws the same bytes
    sequence = timeline.sequence()
    assert png_of(sequence._repr_mimebundle_()) != picture
    assert repr(sequence).splitlines()[0] == first_line
    assert b"tEXtSoftware" not in picture  # no version stamp in the file
    # the kernel's matplotlib is left as it was: same backend and settings
    assert matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == rc
    timeline.close()


def test_sequence_tells_the_failover_in_order_with_simulated_times():
    text = sequence_text(build_timeline(dispatch_events(), DISPATCH, expiry_time=600, condition_status="read"))
    lines = text.splitlines()[1:]
    assert lines[0] == "  +0 s  your code → Vonage API: POST /v0.1/dispatch"
    assert "  +600 s  Vonage API: failover: not read by the deadline" in lines
    unsaid = sequence_text(build_timeline(dispatch_events(), DISPATCH, expiry_time=600))  # no condition given
    assert "  +600 s  Vonage API: failover: deadline passed" in unsaid.splitlines()
    assert "by the deadline" not in unsaid
    rejected = sequence_text(build_timeline(dispatch_events(rejected=True), DISPATCH, condition_status="read"))
    assert any(line.endswith("failover: rejected") for line in rejected.splitlines())
    delivered = lines.index("  +1 s  messenger → Vonage API: delivered")
    assert lines.index("  +600 s  Vonage API → sms: message 2") > delivered
    assert lines[-2:] == ["  +602 s  Vonage API → your webhooks: final report: completed",
                          "  +602 s  your webhooks → your code: events read: completed"]
    rejected = sequence_steps(build_timeline(dispatch_events(rejected=True), DISPATCH))
    labels = [(s.seconds, s.label) for s in rejected]
    assert labels.index((0, "failover: rejected")) < labels.index((0, "message 2"))


def test_empty_timeline_still_draws():
    timeline = FailoverTimeline([], DISPATCH)
    png_of(timeline._repr_mimebundle_())
    assert repr(timeline.sequence()).startswith("Sequence(dispatch, waiting): 2 steps")


def test_feed_shows_simulated_seconds_per_dispatch_and_the_speed():
    events = dispatch_events() + v1_events()
    offsets = simulated_seconds(events)
    assert [offsets[id(e)] for e in events[:5]] == [0, 1, 600, 602, 602]
    assert [offsets[id(e)] for e in events[5:]] == [0, 0, 0, 2]  # its own workflow, its own zero
    feed = EventFeed(events)
    assert "+600 s" in feed.html() and "received (wall clock)" in feed.html()
    assert feed_legend(None) in feed.html().replace("&#x27;", "'")
    assert "600 simulated seconds per real second" in feed_legend(600.0)
    assert "simulated" not in feed_legend(1.0)
    feed.close()


def test_feed_reads_the_speed_from_the_session():
    class Box:
        def clock(self) -> dict:
            return {"time_scale": 600.0}

    class Session:
        offline, sandbox = True, Box()

    feed = EventFeed(dispatch_events(), session=Session())
    assert "600 simulated seconds per real second" in feed.html()
    feed.close()
