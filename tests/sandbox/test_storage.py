"""The database keeps the sandbox's promises with one way to commit: an answered request is saved, a failed commit
fails the requests waiting for it, background writes are saved on stop, reads never wait, and the log stays small."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from fbfailover.sandbox.auth import LEEWAY, Authenticator, AuthError
from fbfailover.sandbox.catalog import Accounts, Catalog
from fbfailover.sandbox.core import Core, SandboxSettings
from fbfailover.sandbox.records import Records
from fbfailover.sandbox.storage import Database, SaveError, dumps
from tests.sandbox.sandbox_helpers import mint, tutorial_body


def test_a_cached_token_still_expires(key_pair):
    db = Database(":memory:")
    accounts, catalog = Accounts(db), Catalog(db)
    account = accounts.primary()
    catalog.put_application(account.id, "a1", "app", key_pair[1], {})
    clock = [1_000_000.0]
    auth = Authenticator(accounts, catalog, now=lambda: clock[0])
    auth._key(catalog.application("a1"))  # the application's key is known, as after its first token
    token = mint("a1", key_pair[0], iat=int(clock[0]), exp=int(clock[0]) + 60)
    assert auth.bearer(token)[1] == "a1"
    assert token in auth._verified  # the second call is a dictionary lookup
    clock[0] += 60 + LEEWAY + 1
    with pytest.raises(AuthError, match="expired"):
        auth.bearer(token)
    db.close()


def test_background_writes_not_yet_committed_are_saved_on_stop(tmp_path):
    path = tmp_path / "box.sqlite3"

    async def run() -> str:
        core = Core.open(path, SandboxSettings(clock="manual"))
        await core.start()
        body = tutorial_body()
        dispatch, _ = core.failover.create_workflow(core.account, None, "basic", "dispatch", body["workflow"])
        core.db.changed()  # as a timer firing would: committed within WRITE_BEHIND, nobody waits
        await core.stop()
        return dispatch["uuid"]

    dispatch_uuid = asyncio.run(run())
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM dispatches WHERE uuid=?", (dispatch_uuid,)).fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM messages WHERE dispatch_uuid=?", (dispatch_uuid,)).fetchone()[0]
        assert conn.execute("SELECT COUNT(*) FROM timers").fetchone()[0] == 2  # status step and expiry
    conn.close()


def test_requests_of_one_loop_iteration_share_one_commit_and_reads_never_wait(tmp_path):
    path = tmp_path / "box.sqlite3"

    async def run() -> int:
        db = Database(path)
        records = Records(db)
        commits = []
        db.before_commit.append(lambda: commits.append(1))
        futures = []
        for n in range(5):  # five requests answered in the same iteration
            records.put_dispatch({"uuid": f"d{n}", "account_id": 1, "messages": []})
            futures.append(db.saved())
            assert records.dispatch(f"d{n}")["uuid"] == f"d{n}"  # read back at once, before any commit
        assert len({id(f) for f in futures}) == 1
        await asyncio.gather(*futures)
        db.close()
        return len(commits)

    assert asyncio.run(run()) == 2  # the iteration's commit, then the one of close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM dispatches").fetchone()[0] == 5
    conn.close()


def test_a_failed_commit_fails_the_waiting_requests_and_the_next_one_works(tmp_path):
    path = tmp_path / "box.sqlite3"
    failing = [True]

    def disk(_: object = None) -> None:
        if failing[0]:
            failing[0] = False
            raise sqlite3.OperationalError("database or disk is full")

    async def run() -> None:
        db = Database(path)
        db.set_meta("before", "1")
        db.commit()
        db.before_commit.append(disk)
        db.set_meta("lost", "1")
        with pytest.raises(SaveError, match="disk is full"):
            await db.saved()
        db.set_meta("after", "1")
        await db.saved()  # the next commit works again
        db.close()

    asyncio.run(run())
    with sqlite3.connect(path) as conn:
        keys = {k for (k,) in conn.execute("SELECT key FROM meta")}
    conn.close()
    assert {"before", "after"} <= keys and "lost" not in keys


def test_writes_between_commits_are_coalesced():
    db = Database(":memory:")
    records = Records(db)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    doc = {"uuid": "m1", "account_id": 1, "n": 0}
    for n in range(10):
        doc["n"] = n
        records.put_message(doc)
    timer = records.add_timer(1.0, "status", "m1", {})
    records.delete_timer(timer)  # a status step that came and went before the commit
    db.commit()
    writes = [s for s in statements if s.startswith(("INSERT", "DELETE", "UPDATE"))]
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO messages")  # one row, no timer
    assert json.loads(db.execute("SELECT doc FROM messages").fetchone()[0])["n"] == 9
    db.close()


def test_the_log_stays_small_under_writes_without_a_pause(tmp_path):
    path = tmp_path / "box.sqlite3"
    db = Database(path)
    records = Records(db)
    for n in range(2000):  # about 20 MB of documents, one commit each
        records.put_message({"uuid": f"m{n}", "account_id": 1, "pad": "x" * 10_000})
        db.commit()
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size < 12 * 1024 * 1024  # SQLite's automatic checkpoints start the log over
    db.close()


def test_documents_are_encoded_as_the_standard_library_would_compact_and_utf8():
    values = [
        {"uuid": "u1", "text": "é ✓ \u2028", "n": [1, 2.5, None, True], "at_unix": 1795755102.654445},
        {1: "integer key", "big": 2**70},  # orjson refuses both: the standard library writes them
        [],
    ]
    for value in values:
        assert dumps(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    tiny = {"a": 2.5e-05, "b": 1e-07}  # written differently, read back the same
    assert dumps(tiny) != json.dumps(tiny, separators=(",", ":")) and json.loads(dumps(tiny)) == tiny


def test_an_embedded_sandbox_leaves_the_garbage_collector_of_its_process_alone(tmp_path):
    import gc

    from fbfailover.sandbox import start

    before = (gc.get_threshold(), gc.isenabled(), list(gc.callbacks), gc.get_freeze_count())
    box = start(db=tmp_path / "box.sqlite3")
    try:
        during = (gc.get_threshold(), gc.isenabled(), list(gc.callbacks), gc.get_freeze_count())
    finally:
        box.stop()
    assert during == before
    assert (gc.get_threshold(), gc.isenabled(), list(gc.callbacks), gc.get_freeze_count()) == before


def test_soon_commits_at_the_end_of_the_iteration_without_anyone_awaiting(tmp_path):
    path = tmp_path / "box.sqlite3"

    async def run() -> tuple[bool, bool]:
        db = Database(path)
        db.set_meta("kept", "1")
        db.soon()
        with sqlite3.connect(path) as other:
            before = other.execute("SELECT COUNT(*) FROM meta WHERE key='kept'").fetchone()[0] == 1
        other.close()
        await asyncio.sleep(0)  # one iteration
        with sqlite3.connect(path) as other:
            after = other.execute("SELECT COUNT(*) FROM meta WHERE key='kept'").fetchone()[0] == 1
        other.close()
        db.close()
        return before, after

    assert asyncio.run(run()) == (False, True)
