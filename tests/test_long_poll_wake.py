"""A long-poll resumes in the loop's next turn after it is woken, and the servers listen with a room-sized backlog.

Turns of the loop are counted, not timed: under a room's load each turn is tens of milliseconds, so the turns
between an item's commit and its long-poll's answer are what a webhook waits (benchmarks/README.md, "Workshop").
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from fbfailover.background import LISTEN_BACKLOG, wake, woken


async def _turns_until_done(task: asyncio.Future) -> int:
    turns = 0
    while not task.done():
        await asyncio.sleep(0)
        turns += 1
    return turns


async def _turns_after_wake(wait) -> int:
    waiter = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(wait(waiter))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the task is waiting now
    assert not task.done()
    wake(waiter)
    return await _turns_until_done(task)


def test_woken_resumes_in_the_next_turn_where_wait_for_and_shield_take_more():
    async def main():
        ours = await _turns_after_wake(lambda waiter: woken(waiter, 30))
        theirs = await _turns_after_wake(lambda waiter: asyncio.wait_for(asyncio.shield(waiter), 30))
        return ours, theirs

    ours, theirs = asyncio.run(main())
    assert ours == 1
    assert theirs > ours  # what the long-polls used before: the reason for woken()


def test_woken_returns_when_its_time_is_up():
    async def main():
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        await woken(waiter, 0.01)
        assert waiter.done() and waiter.result() is None  # woken by its own timer
        wake(waiter)  # a commit that comes later finds a done future: no error

    asyncio.run(main())


def test_woken_is_cancelled_with_its_task():
    async def main():
        waiter = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(woken(waiter, 30))
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()
        wake(waiter)  # a commit that comes later finds a done future: no error

    asyncio.run(main())


def _listen_backlog(port: int) -> int:
    """The backlog of the socket listening on ``port``: ``ss`` shows it as the Send-Q of a listening socket."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[2])


def _expected() -> int:
    return min(LISTEN_BACKLOG, int(Path("/proc/sys/net/core/somaxconn").read_text()))


needs_ss = pytest.mark.skipif(shutil.which("ss") is None or not Path("/proc/sys/net/core/somaxconn").exists(),
                              reason="needs Linux's ss to read a listening socket's backlog")


@needs_ss
def test_the_embedded_servers_listen_with_a_backlog_a_room_fits_in(box):
    assert LISTEN_BACKLOG >= 512
    assert _listen_backlog(int(box.url.rsplit(":", 1)[1])) == _expected() > 128  # tornado's own default is 128


@needs_ss
def test_the_standalone_sandbox_listens_with_a_backlog_a_room_fits_in(tmp_path):
    from tests.sandbox.test_sandbox_standalone import Standalone

    server = Standalone("--db", str(tmp_path / "sandbox.sqlite3"), cwd=tmp_path)
    try:
        assert _listen_backlog(int(server.url.rsplit(":", 1)[1])) == _expected() > 128
    finally:
        server.kill()
