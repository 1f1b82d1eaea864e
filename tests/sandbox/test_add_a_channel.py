"""Adding a channel is one table row: a made-up channel, added in this test alone, with an address kind, an options
object and limits of its own, is handled by the helpers, the sandbox, the webhook receiver and the fuzz strategies.

The sandbox README's "Add a channel" walks through this channel, ``pigeon``: carrier pigeons between lofts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from fbfailover import channels
from fbfailover.channels import AddressKind, Channel, Options
from fbfailover.errors import ValidationError
from fbfailover.payloads import message_v01
from fbfailover.validation import validate_message_v1, validate_workflow
from fbfailover.webhooks.receiver import Receiver
from tests.sandbox.sandbox_helpers import API_KEY, SIGNATURE_SECRET, basic, create_app, mint, post_dispatch
from tests.strategies import CASES_IN_TESTS, channel_endpoints, run_endpoint, start_target

#: A loft is addressed by its code; the sandbox makes up LOFT-0001 when an inbound message names no loft.
LOFT = AddressKind("loft", "loft", re.compile(r"LOFT-[0-9]{4}"), "must be a loft code such as LOFT-0042",
                   sample="LOFT-0001")
#: The pigeon's ring colour must be given when the message is urgent.
RINGS = {"ring": {"enum": ["red", "blue"]}, "urgent": {"type": "boolean"}}
PIGEON = Channel(
    name="pigeon", v1_name="pigeon_post", in_dispatch=True, to_kind="loft", from_kind="loft",
    v01_content=("text",), v1_content=("text",), text_max=80, delivered_after=30.0, readable=True,
    price="0.5000", options=Options(v01=RINGS, v1=RINGS, required_when=(("urgent", True, "ring"),)),
    inbound_extra={"feathers": "grey"},
)
HOME, AWAY = "LOFT-0042", "LOFT-0007"


@pytest.fixture
def pigeon() -> Iterator[Channel]:
    with channels.extended(PIGEON, kinds=[LOFT]):
        yield PIGEON
    assert channels.by_name("pigeon") is None


def _item(text: str = "Coo", **extra) -> dict:
    return {"from": {"type": "pigeon", "loft": HOME}, "to": {"type": "pigeon", "loft": AWAY},
            "message": {"content": {"type": "text", "text": text}, **extra}}


def _sms() -> dict:
    return {"from": {"type": "sms", "number": "447700900000"}, "to": {"type": "sms", "number": "447700900001"},
            "message": {"content": {"type": "text", "text": "Hi"}}}


def _workflow(first: dict) -> dict:
    return {"template": "failover",
            "workflow": [{**first, "failover": {"expiry_time": 600, "condition_status": "read"}}, _sms()]}


def test_the_table_takes_the_row_back_out() -> None:
    with channels.extended(PIGEON, kinds=[LOFT]):
        assert "pigeon" in channels.DISPATCH and "pigeon_post" in channels.MESSAGES_V1
        assert channels.ADDRESS_KINDS["loft"] is LOFT
        with pytest.raises(ValueError, match="exists"), channels.extended(PIGEON):
            pass
    assert "pigeon" not in channels.DISPATCH and "loft" not in channels.ADDRESS_KINDS
    with pytest.raises(ValueError, match="unknown address kind"), channels.extended(PIGEON):
        pass


def test_the_helpers_check_its_addresses_and_text(pigeon) -> None:
    assert validate_workflow(_workflow(_item())) is not None
    assert message_v01("pigeon", HOME, AWAY, "Coo")["to"] == {"type": "pigeon", "loft": AWAY}
    with pytest.raises(ValidationError) as bad:
        validate_workflow(_workflow({**_item("x" * 81), "to": {"type": "pigeon", "loft": "nest"}}))
    assert {p["name"] for p in bad.value.invalid_parameters} == {"workflow[0].to.loft",
                                                                 "workflow[0].message.content.text"}
    assert validate_message_v1({"channel": "pigeon_post", "message_type": "text", "to": AWAY, "from": HOME,
                                "text": "Coo"})
    with pytest.raises(ValidationError, match="loft code"):
        validate_message_v1({"channel": "pigeon_post", "message_type": "text", "to": "nest", "from": HOME,
                             "text": "Coo"})


def test_the_sandbox_sends_it_fails_over_from_it_and_reports_it(pigeon, sandbox, key_pair) -> None:
    receiver = Receiver(0, signature_secret=SIGNATURE_SECRET, api_key=API_KEY)
    try:
        app = create_app(sandbox, key_pair[1], base=receiver.url + "/webhooks")
        token = mint(app["id"], key_pair[0])
        # its options object and its rules: the schema's property and the table's required_when
        refused = post_dispatch(sandbox, token, _workflow(_item(pigeon={"urgent": True})))
        assert refused.status_code == 400, refused.text  # Dispatch answers 400 (its own problem shape)
        assert [p["name"] for p in refused.json()["invalid_parameters"]] == ["workflow[0].message.pigeon.ring"]
        refused = post_dispatch(sandbox, token, _workflow(_item(pigeon={"ring": "green"})))
        assert [p["name"] for p in refused.json()["invalid_parameters"]] == ["workflow[0].message.pigeon.ring"]
        refused = post_dispatch(sandbox, token, _workflow({**_item("x" * 81), "to": {"type": "pigeon"}}))
        assert {p["name"] for p in refused.json()["invalid_parameters"]} == {
            "workflow[0].to.loft", "workflow[0].message.content.text"}

        # a pigeon that never reads: after the expiry the SMS goes, on the table's delays
        sent = post_dispatch(sandbox, token, _workflow(_item(pigeon={"urgent": True, "ring": "red"})))
        assert sent.status_code == 202, sent.text
        dispatch_uuid = sent.json()["dispatch_uuid"]
        sandbox.advance(29)
        assert [m["status"] for m in sandbox.dispatch(dispatch_uuid)["messages"]] == ["submitted"]
        sandbox.advance(1)
        assert [m["status"] for m in sandbox.dispatch(dispatch_uuid)["messages"]] == ["delivered"]
        sandbox.advance(600)
        timeline = sandbox.dispatch(dispatch_uuid)
        assert [m["channel"] for m in timeline["messages"]] == ["pigeon", "sms"]
        assert timeline["status"] == "completed"

        report = receiver.wait_for("final_report", dispatch_uuid=dispatch_uuid, timeout=10)
        assert [link["channel"] for link in report.body["_links"]["messages"]] == ["pigeon", "sms"]
        pigeon_statuses = receiver.events("status", channel="pigeon")
        assert [e.status for e in pigeon_statuses] == ["submitted", "delivered"]
        assert pigeon_statuses[0].body["to"] == {"type": "pigeon", "loft": AWAY}
        assert pigeon_statuses[-1].body["usage"]["price"] == "0.5000"  # charged when delivered

        # an inbound message from a loft nobody named: the kind's sample, and the channel's own extra object
        inbound = sandbox.inbound("pigeon", application_id=app["id"])
        assert inbound["from"] == {"type": "pigeon", "loft": "LOFT-0001"}
        event = receiver.wait_for("inbound", message_uuid=inbound["message_uuid"], timeout=10)
        assert event.channel == "pigeon"
        assert event.body["message"]["pigeon"] == {"feathers": "grey"}

        # v1: its v1 name, its address rule
        v1 = requests.post(f"{sandbox.url}/v1/messages", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                           json={"channel": "pigeon_post", "message_type": "text", "to": AWAY, "from": "nest",
                                 "text": "Coo"})
        assert v1.status_code in (400, 422) and v1.json()["invalid_parameters"][0]["name"] == "from"
        rule = requests.put(f"{sandbox.url}/_sandbox/recipients/pigeon/{AWAY}", auth=basic(sandbox), timeout=10,
                            json={"outcome": "read", "after": 10})
        assert rule.status_code == 200, rule.text
    finally:
        receiver.stop()


def test_the_fuzz_strategies_draw_it(pigeon, key_pair) -> None:
    endpoints = channel_endpoints(pigeon)
    assert sorted(endpoints) == ["POST /v0.1/dispatch via pigeon", "POST /v0.1/messages via pigeon",
                                 "POST /v1/messages via pigeon_post"]
    server, target = start_target(key_pair)
    try:
        counts: dict[str, dict[str, int]] = {}
        for name in endpoints:
            run_endpoint(target, name, CASES_IN_TESTS, counts, derandomize=True, endpoints=endpoints)
        assert all(tally["valid"] > 0 and tally["invalid"] > 0 for tally in counts.values()), counts
    finally:
        target.session.close()
        server.stop()
