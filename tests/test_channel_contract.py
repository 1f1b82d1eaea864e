"""The helpers and the sandbox agree with the channel table, and so with each other.

Every case is generated from ``fbfailover.channels``: for each channel of each API (Dispatch, Messages v0.1,
Messages v1) a valid minimal body and the rejections the table implies. Each body goes to the helper's
validation and, over HTTP, to an embedded sandbox: both must give the same verdict (no problem and 202, or
problems and 400/422) and, for a rejection, both must name the field the case breaks. Field names are compared
as they are: the helpers use the sandbox's ``invalid_parameters`` paths, so no normalisation is needed.

Every body the builders of ``fbfailover.payloads`` make must be accepted by the sandbox too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from fbfailover import channels, payloads
from fbfailover.channels import CHANNELS, CONDITION_STATUSES, EXPIRY_RANGE, Channel
from fbfailover.sandbox import start
from fbfailover.validation import message_problems, message_v1_problems, workflow_problems

SANDBOX_DISAGREES: dict[str, str] = {}

NUMBER, OTHER_NUMBER, PAGE_ID, SENDER_ID = "447700900000", "447700900001", "107083064136738", "Vonage"
MEDIA = {"url": "https://example.com/a.jpg"}
OBJECTS: dict[str, Any] = {"template": {"name": "welcome"}, "custom": {}}
EVERY_TYPE = tuple(dict.fromkeys(t for c in CHANNELS for api in ("v0.1", "v1") for t in c.content(api)))
APIS = {"dispatch": "/v0.1/dispatch", "v0.1": "/v0.1/messages", "v1": "/v1/messages"}


@dataclass(frozen=True)
class Case:
    """One request body, what the table says of it (``field`` broken, or None when valid), where it goes."""

    api: str
    body: dict[str, Any]
    field: str | None


def _payload(kind: str) -> dict[str, Any]:
    if kind == "text":
        return {"text": "Hello"}
    return {kind: copy.deepcopy(OBJECTS.get(kind, MEDIA))}


def _address(kind: str) -> str:
    return {"number": NUMBER, "id": PAGE_ID, "sender": SENDER_ID}[kind]


def _field(kind: str) -> str:
    return "id" if kind == "id" else "number"


def _first_type(channel: Channel, api: str) -> str:
    types = channel.content(api)
    return "text" if "text" in types else types[0]


def _v01_item(channel: Channel) -> dict[str, Any]:
    kind = _first_type(channel, "v0.1")
    return {"from": {"type": channel.name, _field(channel.from_kind): _address(channel.from_kind)},
            "to": {"type": channel.name, _field(channel.to_kind): NUMBER if channel.to_kind == "number" else "3951"},
            "message": {"content": {"type": kind, **_payload(kind)}}}


def _v1_body(channel: Channel) -> dict[str, Any]:
    kind = _first_type(channel, "v1")
    return {"channel": channel.v1_name, "from": _address(channel.from_kind),
            "to": NUMBER if channel.to_kind == "number" else "3951", "message_type": kind, **_payload(kind)}


def _other_kind(kind: str) -> str:
    return "number" if kind == "id" else "id"


def _v01_cases(channel: Channel, wrap: Callable[[dict], dict], prefix: str) -> Iterator[tuple[str, dict, str | None]]:
    """The cases of one v0.1-shaped item (a Dispatch item or a v0.1 message); ``prefix`` leads every field."""
    item = _v01_item(channel)
    yield "valid", wrap(item), None
    for end in ("to", "from"):
        kind = getattr(channel, f"{end}_kind")
        wrong = copy.deepcopy(item)
        wrong[end] = {"type": channel.name, _field(_other_kind(kind)): _address(_other_kind(kind))}
        yield f"{end}-wrong-kind", wrap(wrong), f"{prefix}{end}.{_field(kind)}"
    number_end = next((e for e in ("to", "from") if getattr(channel, f"{e}_kind") != "id"), None)
    if number_end:
        bad = copy.deepcopy(item)
        bad[number_end]["number"] = "+" + NUMBER
        yield f"{number_end}-invalid-number", wrap(bad), f"{prefix}{number_end}.number"
    if "text" in channel.v01_content:
        long = copy.deepcopy(item)
        long["message"]["content"] = {"type": "text", "text": "x" * (channel.text_max + 1)}
        yield "text-over-limit", wrap(long), f"{prefix}message.content.text"
    foreign = next((t for t in EVERY_TYPE if t not in channel.v01_content and t in channels_v01_types()), None)
    if foreign:  # a channel that carries every type of the API has no such case
        other = copy.deepcopy(item)
        other["message"]["content"] = {"type": foreign, **_payload(foreign)}
        yield "content-type-not-carried", wrap(other), f"{prefix}message.content.type"
    mixed = copy.deepcopy(item)
    mixed["from"]["type"] = next(c.name for c in CHANNELS if c.name != channel.name)
    yield "from-type-not-to-type", wrap(mixed), f"{prefix}from.type"
    yield from _sender_cases(channel, item, wrap, f"{prefix}from.number")


def _sender_cases(channel: Channel, item: dict, wrap: Callable[[dict], dict],
                  field: str) -> Iterator[tuple[str, dict, str | None]]:
    """An alphanumeric sender where only a number goes, and one character too long where it does."""
    key = "number" if isinstance(item["from"], dict) else None
    cases = {"number": ("alphanumeric-sender", SENDER_ID), "sender": ("sender-12-characters", "VonageAlerts")}
    if channel.from_kind not in cases:
        return
    name, value = cases[channel.from_kind]
    body = copy.deepcopy(item)
    if key:
        body["from"][key] = value
    else:
        body["from"] = value
    yield name, wrap(body), field


def channels_v01_types() -> set[str]:
    """Content types the v0.1 shape knows at all (so a foreign one is refused for the channel, not the API)."""
    return {t for c in CHANNELS for t in c.v01_content}


def _dispatch_cases(channel: Channel) -> Iterator[tuple[str, dict, str | None]]:
    yield from _v01_cases(channel, lambda item: {"template": "failover", "workflow": [item]}, "workflow[0].")
    item, last = _v01_item(channel), _v01_item(channels.by_name("sms"))
    condition = {"expiry_time": 600, "condition_status": CONDITION_STATUSES[-1]}
    yield "failover-missing", {"template": "failover", "workflow": [item, last]}, "workflow[0].failover"
    yield "failover-on-last", {"template": "failover", "workflow": [{**item, "failover": condition}]}, \
        "workflow[0].failover"
    low, high = EXPIRY_RANGE
    broken = (("expiry-too-short", {"expiry_time": low - 1}), ("expiry-too-long", {"expiry_time": high + 1}),
              ("condition-status-unknown", {"condition_status": "submitted"}))
    for name, changes in broken:
        field = "workflow[0].failover." + next(iter(changes))
        yield name, {"template": "failover", "workflow": [{**item, "failover": {**condition, **changes}}, last]}, field


def _v1_cases(channel: Channel) -> Iterator[tuple[str, dict, str | None]]:
    body = _v1_body(channel)
    yield "valid", body, None
    for end in ("to", "from"):
        if getattr(channel, f"{end}_kind") != "id":  # any string is an id: only a number can be the wrong kind
            yield f"{end}-wrong-kind", {**body, end: "page-" + PAGE_ID}, end
    end = next((e for e in ("to", "from") if getattr(channel, f"{e}_kind") != "id"), None)
    if end:
        yield f"{end}-invalid-number", {**body, end: "+" + NUMBER}, end
    if "text" in channel.v1_content:
        yield "text-over-limit", {**body, "message_type": "text", "text": "x" * (channel.text_max + 1)}, "text"
    foreign = next((t for t in EVERY_TYPE if t not in channel.v1_content), None)
    if foreign:
        other = {k: v for k, v in body.items() if k not in channel.v1_content}
        yield "content-type-not-carried", {**other, "message_type": foreign, **_payload(foreign)}, "message_type"
    yield from _sender_cases(channel, body, lambda b: b, "from")


def generated_cases() -> Iterator[Any]:
    """Every case of every channel of every API, as pytest params with readable ids."""
    per_api: dict[str, tuple[list[Channel], Callable[[Channel], Iterator]]] = {
        "dispatch": ([c for c in CHANNELS if c.in_dispatch], _dispatch_cases),
        "v0.1": ([c for c in CHANNELS if c.v01_content],
                 lambda c: _v01_cases(c, lambda item: item, "")),
        "v1": ([c for c in CHANNELS if c.v1_name], _v1_cases),
    }
    for api, (chosen, cases) in per_api.items():
        for channel in chosen:
            name = channel.v1_name if api == "v1" else channel.name
            for label, body, field in cases(channel):
                yield _param(f"{api}-{name}-{label}", Case(api, body, field))


def _param(case_id: str, *values: Any) -> Any:
    reason = SANDBOX_DISAGREES.get(case_id)
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(*values, id=case_id, marks=marks)


def helper_problems(api: str, body: dict[str, Any]) -> list[dict[str, str]]:
    """What the helpers find wrong with ``body``."""
    if api == "dispatch":
        return workflow_problems(body)
    return message_problems(body, api="v0.1") if api == "v0.1" else message_v1_problems(body)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[str, requests.Session]]:
    box = start(db=":memory:")
    session = requests.Session()
    session.auth = (box.api_key, box.api_secret)
    try:
        yield box.url, session
    finally:
        session.close()
        box.stop()


def post(sandbox: tuple[str, requests.Session], api: str, body: dict[str, Any]) -> tuple[int, set[str]]:
    """POST ``body`` to the sandbox; returns the status and the names of ``invalid_parameters``."""
    url, session = sandbox
    with session.post(url + APIS[api], json=body, timeout=10) as response:
        answer = response.json()
    return response.status_code, {p["name"] for p in answer.get("invalid_parameters", [])}


@pytest.mark.parametrize("case", list(generated_cases()))
def test_helpers_and_sandbox_agree_with_the_table(sandbox, case: Case):
    found = {p["name"] for p in helper_problems(case.api, case.body)}
    status, named = post(sandbox, case.api, case.body)
    if case.field is None:
        assert (found, status) == (set(), 202), named
    else:
        assert status in (400, 422), found
        assert case.field in found, found
        assert case.field in named, named


def _builder_cases() -> Iterator[Any]:
    for c in CHANNELS:
        if "text" in c.v01_content:
            yield _param(f"build-message_v01-{c.name}", "v0.1", lambda c=c: payloads.message_v01(
                c.name, _address(c.from_kind), NUMBER if c.to_kind == "number" else "3951", "Hi", client_ref="r"))
        if c.v1_name and "text" in c.v1_content:
            sms = payloads.message_v1("sms", SENDER_ID, OTHER_NUMBER, "Hi by SMS")
            yield _param(f"build-message_v1-{c.v1_name}", "v1", lambda c=c, sms=sms: payloads.message_v1(
                c.v1_name, _address(c.from_kind), NUMBER if c.to_kind == "number" else "3951", "Hi", failover=[sms]))
    yield _param("build-tutorial_workflow", "dispatch", lambda: payloads.tutorial_workflow(
        from_number=NUMBER, to_number=OTHER_NUMBER, fb_sender_id=PAGE_ID, fb_recipient_id="3951"))
    yield _param("build-failover_workflow-sender-id", "dispatch", lambda: payloads.failover_workflow([
        payloads.messenger_item(PAGE_ID, "3951", "Hi", failover=payloads.failover_condition(15, "delivered")),
        payloads.sms_item(SENDER_ID, OTHER_NUMBER, "Hi by SMS")]))


@pytest.mark.parametrize(("api", "build"), list(_builder_cases()))
def test_every_built_body_is_accepted(sandbox, api: str, build: Callable[[], dict[str, Any]]):
    status, named = post(sandbox, api, build())
    assert status == 202, named
