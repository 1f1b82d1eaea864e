"""The sandbox's seams, pinned: timer kinds are an Enum wired in one place (``Core``), the failover state machine
hears messages because ``Core`` says so, and each document is built by one function."""

from __future__ import annotations

import ast
import asyncio
import inspect
import typing
from pathlib import Path

import pytest

import fbfailover
from fbfailover.sandbox.clock import TimerKind
from fbfailover.sandbox.core import Core, SandboxSettings
from fbfailover.sandbox.documents import Delivery, Dispatch, Message, new_delivery, new_dispatch, new_message

SANDBOX = Path(fbfailover.__file__).parent / "sandbox"


@pytest.fixture
def core():
    made = Core.open(":memory:", SandboxSettings(clock="manual"))
    try:
        yield made
    finally:
        asyncio.run(made.stop())


def test_every_timer_kind_runs_the_method_core_names(core: Core) -> None:
    wired = core.scheduler.wired()
    assert set(wired) == set(TimerKind)
    assert wired[TimerKind.DELIVER] == core.webhooks.attempt
    assert wired[TimerKind.STATUS] == core.messages.on_status_timer
    assert wired[TimerKind.EXPIRY] == core.failover.on_expiry


def test_failover_hears_messages_because_core_says_so(core: Core) -> None:
    assert core.messages._listeners == [core.failover.on_status]


def _calls(path: Path, names: set[str]) -> list[str]:
    """``receiver.name(...)`` calls in ``path`` whose method is one of ``names``."""
    tree = ast.parse(path.read_text("utf-8"))
    return [f"{path.name}:{node.lineno} {node.func.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in names]


def test_only_core_wires_timers_and_listeners() -> None:
    wiring = {"on", "listen"}
    elsewhere = [hit for path in sorted(SANDBOX.rglob("*.py")) if path.name != "core.py"
                 for hit in _calls(path, wiring)]
    assert elsewhere == []
    assert len(_calls(SANDBOX / "core.py", wiring)) == len(TimerKind) + 1


def test_timers_are_added_with_a_kind_never_a_string() -> None:
    for path in sorted(SANDBOX.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add" \
                    and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
                raise AssertionError(f"{path.name}:{node.lineno} adds a timer with a string kind")


def test_a_string_kind_is_refused(core: Core) -> None:
    with pytest.raises(ValueError):
        core.scheduler.add(0.0, "no-such-kind", "ref")  # type: ignore[arg-type]


@pytest.mark.parametrize(("builder", "doc_type"), [(new_dispatch, Dispatch), (new_message, Message),
                                                  (new_delivery, Delivery)])
def test_each_document_is_built_by_one_function(builder, doc_type) -> None:
    """The builder's keys are the TypedDict's (all of them, or a subset of an optional-keyed one), and no other
    module of the sandbox writes a dict literal carrying the document's signature keys (views of a document, such
    as the inspection API's, use other names)."""
    assert inspect.signature(builder).return_annotation in (doc_type.__name__, doc_type)
    hints = typing.get_type_hints(doc_type)
    signature_keys = {Dispatch: {"items", "current", "offset"}, Message: {"api", "webhook_version", "channel"},
                      Delivery: {"first_attempt_unix", "next_attempt", "attempts"}}[doc_type]
    assert signature_keys <= set(hints)
    builders = []
    for path in sorted(SANDBOX.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if signature_keys <= keys:
                    builders.append(path.name)
    assert set(builders) == {"documents.py"}


def test_builders_fill_every_required_key() -> None:
    dispatch = new_dispatch("d", 1, None, "jwt", "dispatch", [], 100.0, offset=5.0,
                            created_real="2020-01-01T00:00:00.000Z")
    assert set(dispatch) == set(Dispatch.__required_keys__)
    delivery = new_delivery("status", "http://x/status", 100.0, "1970-01-01T00:01:40.000Z")
    assert set(delivery) == set(Delivery.__required_keys__)
    assert new_delivery("status", "", 1.0, "1970-01-01T00:00:01.000Z")["status"] == "no_url"
    v01 = new_message(1, "app", "jwt", {"to": {"type": "sms", "number": "1"}, "from": {"type": "sms", "number": "2"}},
                      api="v0.1", webhook_version="v1")
    assert v01["channel"] == "sms" and v01["webhook_version"] == "v0.1" and "webhook_url" not in v01
    v1 = new_message(1, None, "basic", {"channel": "sms", "to": "1", "from": "2", "webhook_url": "http://h"},
                     api="v1", webhook_version="v1", item=2)
    assert v1["webhook_url"] == "http://h" and v1["item"] == 2
    assert set(v1) <= set(Message.__optional_keys__ | Message.__required_keys__)


def test_tutorial_seams_are_typed() -> None:
    from fbfailover.tutorial.session import Tutorial

    annotations = Tutorial.__annotations__
    assert annotations["sandbox"] == "Controls | None"
    assert annotations["receiver"] == "EventSource | None"
