"""``fbfailover.tutorial.follow``: the tutorial's one place that waits, and a scan that keeps it the only one.

The scan reads every module of ``fbfailover/tutorial`` and ``fbfailover/widgets`` (``follow.py`` aside) and fails on
a sleep (``time.sleep``, ``asyncio.sleep``), on a call of an event source's waits (``wait_for``, ``wait_until``,
``await_for``: a wait for webhooks goes through ``follow``), and on a loop that reads a clock or waits on a
``threading.Event``/``Condition`` (a hand-written poll). The event sources themselves (``fbfailover/webhooks``) are
not scanned: ``EventSource.wait_until`` is what ``follow`` is built on.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

import fbfailover
from fbfailover.errors import WaitTimeout
from fbfailover.tutorial import follow
from fbfailover.webhooks import EventStore, make_event

PACKAGE = Path(fbfailover.__file__).parent
SCANNED = ("tutorial", "widgets")
ALLOWED = {PACKAGE / "tutorial" / "follow.py"}

SLEEPS = {("time", "sleep"), ("asyncio", "sleep")}
CLOCKS = {("time", "time"), ("time", "monotonic"), ("time", "perf_counter"), ("time", "monotonic_ns"),
          ("time", "time_ns"), ("datetime", "now"), ("datetime", "utcnow")}
EVENT_WAITS = {"wait_for", "wait_until", "await_for"}


def _imported_names(tree: ast.AST) -> dict[str, tuple[str, str]]:
    """``{local name: (module, name)}`` for ``from time import sleep`` and the like."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module.rsplit(".", 1)[-1], alias.name)
    return names


def _called(node: ast.Call, imported: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """``(module or object, attribute)`` a call names: ``time.sleep(…)`` → ``("time", "sleep")``."""
    func = node.func
    if isinstance(func, ast.Name):
        return imported.get(func.id, ("", func.id))
    if isinstance(func, ast.Attribute):
        owner = func.value
        base = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
        return (imported[base][1] if base in imported else base), func.attr
    return "", ""


def waits(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` of every sleep, event wait and polling loop in ``source``."""
    tree = ast.parse(source)
    imported = _imported_names(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            owner, name = _called(node, imported)
            if (owner, name) in SLEEPS:
                found.append((node.lineno, f"{owner}.{name}()"))
            elif name in EVENT_WAITS and isinstance(node.func, ast.Attribute):
                found.append((node.lineno, f".{name}() outside follow.py"))
        elif isinstance(node, (ast.While, ast.For, ast.AsyncFor)):
            for inner in ast.walk(node):
                if not isinstance(inner, ast.Call):
                    continue
                owner, name = _called(inner, imported)
                if (owner, name) in CLOCKS:
                    found.append((node.lineno, f"a loop reading {owner}.{name}()"))
                elif name == "wait" and isinstance(inner.func, ast.Attribute):
                    found.append((node.lineno, f"a loop around .{name}()"))
    return sorted(set(found))


def _scanned() -> list[Path]:
    return sorted(p for package in SCANNED for p in (PACKAGE / package).rglob("*.py") if p not in ALLOWED)


def test_the_scan_finds_every_kind_of_hand_written_wait():
    planted = '''
import time
from time import sleep as nap, monotonic
import threading

def poll(receiver, cancel):
    time.sleep(1)
    nap(0.1)
    receiver.wait_for("inbound", timeout=5)
    deadline = monotonic() + 5
    while monotonic() < deadline:
        pass
    for _ in range(10):
        if cancel.wait(0.1):
            return
    while True:
        if time.time() > deadline:
            break

async def later(source):
    import asyncio
    await asyncio.sleep(1)
    await source.await_for("status")
    return source.wait_until(lambda events: events, 1)
'''
    found = waits(planted)
    assert [line for line, _ in found] == [7, 8, 9, 11, 13, 16, 22, 23, 24], found
    assert "time.sleep()" in dict(found).values()


def test_the_scan_lets_a_loop_with_no_clock_alone():
    plain = '''
import time

def pages(client):
    page, apps = 1, []
    while True:
        answer = client.list_applications(page, 100)
        apps += answer["items"]
        if page >= answer["total_pages"]:
            return apps
        page += 1

def expired(exp):
    return time.time() > exp   # a clock read outside a loop is a check, not a wait

def connect(stream):
    return stream.wait_until_connected(10)
'''
    assert waits(plain) == []


def test_only_follow_waits_in_the_tutorial_and_the_widgets():
    files = _scanned()
    assert len(files) > 20 and PACKAGE / "tutorial" / "facebook_ids.py" in files
    found = {str(p.relative_to(PACKAGE)): hits for p in files if (hits := waits(p.read_text(encoding="utf-8")))}
    assert found == {}, f"waits outside fbfailover/tutorial/follow.py (use or add a follow function): {found}"


# -- the follow functions -------------------------------------------------------------------------------------
def _status(store: EventStore, dispatch: str, status: str = "submitted") -> None:
    store.add(make_event("/webhooks/status", {
        "message_uuid": f"m-{dispatch}", "to": "447700900001", "from": "447700900000", "status": status,
        "channel": "sms", "timestamp": "2025-08-13T10:00:00Z", "_links": {"dispatch": {"dispatch_uuid": dispatch}}}))


def _inbound(store: EventStore, uuid: str, *, channel: str = "messenger", signature: str = "verified") -> None:
    store.add(make_event("/webhooks/inbound", {
        "channel": channel, "message_uuid": uuid, "to": "785347176233987", "from": "9412942069366717",
        "timestamp": "2025-08-13T10:00:00Z", "message_type": "text", "text": "Hi"}, signature=signature))


@pytest.fixture
def store():
    store = EventStore()
    yield store
    store.close()


def test_dispatch_begun_returns_the_dispatch_so_far_once_a_status_of_it_arrived(store):
    _status(store, "other-dispatch")
    with pytest.raises(WaitTimeout, match="a status of dispatch d-1"):
        follow.dispatch_begun(store, "d-1", timeout=0)
    arriving = threading.Thread(target=_status, args=(store, "d-1"))
    arriving.start()
    begun = follow.dispatch_begun(store, "d-1", timeout=10)
    arriving.join()
    assert [(e.dispatch_uuid, e.status) for e in begun] == [("d-1", "submitted")]


def test_inbound_message_returns_that_message_and_only_an_accepted_one(store):
    _inbound(store, "u-2")
    _inbound(store, "u-1", signature="unverified")
    assert follow.inbound_message(store, "u-2", timeout=0).message_uuid == "u-2"
    assert follow.inbound_message(store, "u-1", timeout=0).signature == "unverified"
    with pytest.raises(WaitTimeout, match="inbound message u-1"):
        follow.inbound_message(store, "u-1", timeout=0, accept=follow.verified)
    arriving = threading.Thread(target=_inbound, args=(store, "u-3"))
    arriving.start()
    assert follow.inbound_message(store, "u-3", timeout=10, accept=follow.verified).verified
    arriving.join()


def test_first_inbound_waits_for_a_new_accepted_message_on_its_channel_and_counts_down(store):
    _inbound(store, "before")  # stored before the wait began: not the one awaited
    after = store.last_seq
    left: list[float] = []

    def on_wait(seconds: float) -> None:
        left.append(seconds)
        if len(left) == 1:  # the person writes once the countdown shows: an SMS, an unsigned one, then the one
            _inbound(store, "sms", channel="sms")
            _inbound(store, "unsigned", signature="unverified")
            _inbound(store, "theirs")

    event = follow.first_inbound(store, "messenger", after=after, timeout=30, accept=follow.verified,
                                 on_wait=on_wait, tick=0.05)
    assert event is not None and event.message_uuid == "theirs"
    assert left[0] == 30 and all(0 <= s <= 30 for s in left)


def test_first_inbound_stops_on_cancel_and_its_timeout_lists_only_what_came_after(store):
    cancel = threading.Event()
    cancel.set()
    assert follow.first_inbound(store, "messenger", after=0, timeout=30, cancel=cancel,
                                on_wait=lambda s: pytest.fail("a cancelled wait shows no countdown")) is None

    cancel = threading.Event()
    assert follow.first_inbound(store, "messenger", after=0, timeout=30, cancel=cancel,
                                on_wait=lambda s: cancel.set(), tick=0.01) is None  # the Cancel button, later

    _inbound(store, "before", channel="sms")
    after = store.last_seq
    _inbound(store, "later", channel="sms")
    with pytest.raises(WaitTimeout) as info:
        follow.first_inbound(store, "messenger", after=after, timeout=0)
    assert "an inbound messenger message" in str(info.value)
    assert [e.message_uuid for e in info.value.arrived] == ["later"]

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        follow.first_inbound(store, "messenger", after=0, timeout=30, on_wait=interrupt)


class _Clock:
    """A sandbox clock's readings (``GET /_sandbox/clock``): each reading is ``step`` simulated seconds later."""

    def __init__(self, now: float, step: float, scale: float = 600.0):
        self.now, self.step, self.scale, self.reads = now, step, scale, 0

    def __call__(self) -> dict:
        self.reads += 1
        reading = {"mode": "real", "time_scale": self.scale, "now_unix": self.now}
        self.now += self.step
        return reading


def test_clock_reaches_returns_the_first_reading_at_or_past_the_target(store):
    clock = _Clock(1000.0, 5.0)
    reading = follow.clock_reaches(store, clock, 1020.0, timeout=30)
    assert reading["now_unix"] == 1020.0 and clock.reads == 5  # 1000, 1005, 1010, 1015, 1020

    already = _Clock(2000.0, 0.0)
    assert follow.clock_reaches(store, already, 1999.0, timeout=30)["now_unix"] == 2000.0 and already.reads == 1


def test_clock_reaches_is_woken_by_a_webhook_and_says_where_a_still_clock_stands(store):
    clock = _Clock(1000.0, 0.0, scale=1e-6)  # at this scale the minute left would take years of real time
    moved = threading.Event()

    def move_and_deliver() -> None:
        clock.now = 1060.0  # someone moved the clock on: its timers fired, and their webhooks arrive
        _status(store, "d-1")
        moved.set()

    with pytest.raises(WaitTimeout, match=r"did not reach 1060\.000 within 0 s \(it reads 1000\.000"):
        follow.clock_reaches(store, clock, 1060.0, timeout=0)
    mover = threading.Thread(target=move_and_deliver)
    mover.start()
    assert follow.clock_reaches(store, clock, 1060.0, timeout=30)["now_unix"] == 1060.0
    mover.join()
    assert moved.is_set()
