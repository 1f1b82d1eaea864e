"""The fast paths keep the sandbox's promises: cached JWT verdicts expire, queued writes are saved on stop."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from sandbox_helpers import mint, tutorial_body

from fbfailover.sandbox.auth import LEEWAY, Authenticator, AuthError
from fbfailover.sandbox.core import Core, SandboxSettings
from fbfailover.sandbox.state import State
from fbfailover.sandbox.validation import check_dispatch


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
