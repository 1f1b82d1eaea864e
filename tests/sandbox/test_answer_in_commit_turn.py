"""Answers that wait for a commit leave from inside that commit, in its own turn of the loop.

A coroutine that awaits a future resumes only in the loop's next turn, after every callback that turn brings; in a
workshop room each turn serves hundreds of connections (benchmarks/README.md, "Workshop"). So a request's ``202``
(``BaseHandler.reply_saved``) and a long-poll's items (``Mailbox.wait``) are written by the commit itself. These
tests call ``commit()`` directly and look at what was answered before the loop got a turn; nothing is timed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys

import pytest

from fbfailover.sandbox import storage
from fbfailover.sandbox.mailbox import Mailbox
from fbfailover.sandbox.storage import Database, SaveError


def _start(coro) -> asyncio.Task:
    return asyncio.ensure_future(coro)


async def _turn() -> None:
    await asyncio.sleep(0)


def test_saved_then_is_called_by_the_commit_before_any_waiter_resumes():
    async def main():
        db = Database(":memory:")
        calls: list[str] = []
        resumed: list[str] = []

        async def request(name: str) -> None:
            await db.saved(then=lambda: calls.append(name))
            resumed.append(name)

        tasks = [_start(request("a")), _start(request("b"))]
        await _turn()  # both requests wrote and wait for the same group commit
        db.execute("INSERT INTO meta VALUES ('k', 'v')")
        db.commit()
        assert calls == ["a", "b"]  # answered inside the commit, in its order
        assert resumed == []  # the coroutines themselves come a turn later
        await asyncio.gather(*tasks)
        assert resumed == ["a", "b"]
        db.close()

    asyncio.run(main())


def test_a_failed_commit_calls_no_then_and_fails_its_waiters():
    async def main():
        db = Database(":memory:")
        calls: list[str] = []
        saved = db.saved(then=lambda: calls.append("answered"))
        db.execute("INSERT INTO meta VALUES ('k', 'v')")

        class Broken:
            """The connection, whose commit fails (a full disk)."""

            def __init__(self, conn: sqlite3.Connection):
                self.conn = conn

            def __getattr__(self, name):
                return getattr(self.conn, name)

            def commit(self):
                raise sqlite3.OperationalError("database or disk is full")

        real, db.conn = db.conn, Broken(db.conn)
        with pytest.raises(SaveError):
            db.commit()
        db.conn = real
        assert calls == []  # never "202" for what was not saved
        with pytest.raises(SaveError):
            await saved
        db.close()

    asyncio.run(main())


def test_a_then_that_raises_is_logged_and_the_others_still_answer(monkeypatch):
    logged: list[str] = []

    class Log:
        def exception(self, message: str) -> None:
            logged.append(f"{message}: {sys.exc_info()[1]}")

    monkeypatch.setattr(storage, "log", Log())  # other tests' logging set-ups may disable the module's logger

    async def main():
        db = Database(":memory:")
        calls: list[str] = []

        def broken() -> None:
            raise RuntimeError("a bug in one answer")

        first = db.saved(then=broken)
        db.saved(then=lambda: calls.append("second"))
        db.commit()
        assert calls == ["second"]
        assert logged == ["an answer run by a commit failed: a bug in one answer"]
        await first  # the commit worked: its waiters are told so
        db.close()

    asyncio.run(main())


def test_a_waiting_long_poll_is_answered_inside_the_commit_that_publishes_its_item():
    async def main():
        db = Database(":memory:")
        mailbox = Mailbox(db)
        answers: list[dict] = []
        poll = _start(mailbox.wait(7, 0, 30, answers.append))
        await _turn()
        assert answers == []  # nothing yet: it waits
        mailbox.put(7, "/webhooks/status", "", {"Content-Type": "application/json"}, b'{"status":"delivered"}')
        assert answers == []  # kept, not yet committed: not handed out
        db.commit()
        assert len(answers) == 1 and [e["body"] for e in answers[0]["events"]] == ['{"status":"delivered"}']
        await poll  # the coroutine ends a turn later and answers nothing more
        assert len(answers) == 1
        db.close()

    asyncio.run(main())


def test_another_accounts_item_does_not_answer_a_long_poll_whose_time_then_runs_out():
    async def main():
        db = Database(":memory:")
        mailbox = Mailbox(db)
        answers: list[dict] = []
        poll = _start(mailbox.wait(7, 0, 0.05, answers.append))
        await _turn()
        mailbox.put(8, "/webhooks/status", "", {}, b"{}")
        db.commit()
        assert answers == []
        await poll  # its time is up: answered once, empty
        assert len(answers) == 1 and answers[0]["events"] == []
        db.close()

    asyncio.run(main())


def test_a_long_poll_with_items_waiting_is_answered_at_once():
    async def main():
        db = Database(":memory:")
        mailbox = Mailbox(db)
        mailbox.put(7, "/webhooks/status", "", {}, b"{}")
        db.commit()
        answers: list[dict] = []
        await mailbox.wait(7, 0, 30, answers.append)
        assert len(answers) == 1 and len(answers[0]["events"]) == 1
        db.close()

    asyncio.run(main())
