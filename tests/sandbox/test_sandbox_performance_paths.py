"""The fast paths keep the sandbox's promises: cached JWT verdicts expire, queued writes are saved on stop, the
writer thread saves everything on close and a commit it could not make fails the requests waiting for it."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid

import pytest

from fbfailover.sandbox.auth import LEEWAY, Authenticator, AuthError
from fbfailover.sandbox.core import Core, SandboxSettings
from fbfailover.sandbox.schema import new_uuid
from fbfailover.sandbox.state import SaveError, State
from fbfailover.sandbox.validation import check_dispatch
from fbfailover.sandbox.writer import Writer
from tests.sandbox.sandbox_helpers import mint, tutorial_body


def test_a_cached_token_still_expires(key_pair):
    state = State(":memory:")
    account = state.primary_account()
    state.put_application(account.id, "a1", "app", key_pair[1], {})
    clock = [1_000_000.0]
    auth = Authenticator(state, now=lambda: clock[0])
    auth._key(state.application("a1"))  # the application's key is known, as after its first token
    token = mint("a1", key_pair[0], iat=int(clock[0]), exp=int(clock[0]) + 60)
    assert auth.bearer(token)[1] == "a1"
    assert token in auth._verified  # the second call is a dictionary lookup
    clock[0] += 60 + LEEWAY + 1
    with pytest.raises(AuthError, match="expired"):
        auth.bearer(token)
    state.close()


def test_queued_background_writes_are_saved_on_stop(tmp_path):
    db = tmp_path / "box.sqlite3"

    async def run() -> str:
        core = Core(State(db), SandboxSettings(clock="manual"))
        await core.start()
        body = tutorial_body()
        with core.state.deferred():  # as a timer firing would: nobody waits for these writes
            dispatch, _ = core.sim.create_workflow(core.account, None, "basic", "dispatch", body["workflow"])
        assert len(core.state._later) > 0
        await core.stop()
        return dispatch["uuid"]

    dispatch_uuid = asyncio.run(run())
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM dispatches WHERE uuid=?", (dispatch_uuid,)).fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM messages WHERE dispatch_uuid=?", (dispatch_uuid,)).fetchone()[0]
        assert conn.execute("SELECT COUNT(*) FROM timers").fetchone()[0] == 2  # status step and expiry


def test_a_remembered_verdict_is_for_the_exact_bytes_only():

    good = tutorial_body()
    raw = json.dumps(good).encode()
    assert check_dispatch(good, raw) == [] and check_dispatch(good, raw) == []
    bad = json.loads(raw)
    del bad["workflow"][0]["failover"]
    assert check_dispatch(bad, json.dumps(bad).encode())  # other bytes: checked again


def test_the_writer_thread_saves_what_is_queued_when_closed(tmp_path):
    db = tmp_path / "box.sqlite3"
    state = State(db)
    state.primary_account()
    assert isinstance(state._writer, Writer)
    for n in range(50):
        state._writer.submit([("INSERT INTO meta (key, value) VALUES (?, ?)", [(f"k{n}", "v")])])
    state.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'k%'").fetchone()[0] == 50


def test_a_failed_commit_on_the_writer_thread_fails_the_waiting_requests(tmp_path):
    db = tmp_path / "box.sqlite3"

    async def run() -> None:
        state = State(db)
        state.primary_account()
        state.set_meta("before", "1")
        state.commit()
        state._now.timers[10**6] = (10**6, None, "status", "m", {})  # NOT NULL fails: the whole commit fails
        state.set_meta("lost", "1")
        with pytest.raises(SaveError):
            await state.commit_soon()
        state.set_meta("after", "1")
        await state.commit_soon()  # the next commit works again
        state.close()

    asyncio.run(run())
    with sqlite3.connect(db) as conn:
        keys = {k for (k,) in conn.execute("SELECT key FROM meta")}
    assert {"before", "after"} <= keys and "lost" not in keys


def test_generated_uuids_are_version_4_and_distinct():
    made = {new_uuid() for _ in range(2000)}
    assert len(made) == 2000
    assert all(uuid.UUID(u).version == 4 for u in made)


def test_a_running_sandbox_paces_garbage_collection_and_restores_the_thresholds_when_stopped(tmp_path):
    import gc

    from fbfailover.sandbox.collector import THRESHOLDS, pacer

    before = gc.get_threshold()

    async def scenario() -> None:
        first = Core(State(tmp_path / "a.db"))
        second = Core(State(tmp_path / "b.db"))
        await first.start()
        await second.start()
        assert pacer.running
        assert all(now >= wanted for now, wanted in zip(gc.get_threshold(), THRESHOLDS, strict=True))
        collections = gc.get_stats()[0]["collections"]
        await asyncio.sleep(0.2)
        assert gc.get_stats()[0]["collections"] >= collections + 3  # about every 20 ms, by the clock
        await first.stop()
        assert pacer.running
        assert all(now >= wanted for now, wanted in zip(gc.get_threshold(), THRESHOLDS, strict=True))
        await second.stop()
        assert not pacer.running

    asyncio.run(scenario())
    assert gc.get_threshold() == before


def test_documents_are_encoded_as_the_standard_library_would_compact_and_utf8():
    import json

    from fbfailover.sandbox.schema import dumps

    values = [
        {"uuid": "u1", "text": "é ✓ \u2028", "n": [1, 2.5, None, True], "at_unix": 1795755102.654445},
        {1: "integer key", "big": 2**70},  # orjson refuses both: the standard library writes them
        [],
    ]
    for value in values:
        assert dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    tiny = {"a": 2.5e-05, "b": 1e-07}  # written differently, read back the same
    assert dumps(tiny) != json.dumps(tiny, separators=(",", ":")) and json.loads(dumps(tiny)) == tiny


class _FakeLog:
    """A connection that answers checkpoints with a log of ``frames`` pages and records what it was asked."""

    def __init__(self, frames: int):
        self.frames = frames
        self.asked: list[str] = []

    def execute(self, sql: str):
        self.asked.append(sql)
        answer = (0, self.frames, self.frames // 2)
        return type("Cursor", (), {"fetchone": lambda _self: answer})()


def test_a_log_over_the_limit_is_started_over_and_a_smaller_one_only_copied(monkeypatch):
    """Under writes without a pause a passive checkpoint never copies the whole log, and the log grew by about
    75 MB a second: past the limit, the checkpoint thread makes the next commit start it over."""
    from fbfailover.sandbox import state as state_module

    monkeypatch.setattr(state_module, "LOG_LIMIT", 1 << 20)
    small, large = _FakeLog(frames=100), _FakeLog(frames=1000)
    state_module.checkpoint(small, 4096)
    state_module.checkpoint(large, 4096)
    assert "PRAGMA wal_checkpoint(RESTART)" not in small.asked
    assert large.asked[0] == "PRAGMA wal_checkpoint(PASSIVE)" and large.asked[-1] == "PRAGMA wal_checkpoint(RESTART)"


def test_after_a_checkpoint_pass_on_a_real_database_the_next_commit_writes_the_log_from_its_start(
    tmp_path, monkeypatch
):
    from fbfailover.sandbox import state as state_module

    monkeypatch.setattr(state_module, "LOG_LIMIT", 64 * 1024)
    path = tmp_path / "log.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE docs (doc TEXT)")
    reader = sqlite3.connect(path, isolation_level=None)
    for _ in range(50):
        writer.execute("INSERT INTO docs VALUES (?)", ("x" * 4000,))
    state_module.checkpoint(reader, 4096)
    writer.execute("INSERT INTO docs VALUES ('after')")
    _, frames, _ = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames <= 3  # the last commit's pages only: the log started over
    writer.close()
    reader.close()
