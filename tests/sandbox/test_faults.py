"""Faults: a receiver that is down, a sandbox killed mid-failover, and databases that cannot be written."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from fbfailover import webhooks
from fbfailover.cli import main as cli_main
from fbfailover.sandbox import start
from fbfailover.sandbox.storage import StorageError, check_database
from tests.ports import free_port
from tests.sandbox.sandbox_helpers import API_KEY, API_SECRET, SIGNATURE_SECRET, basic, create_app, mint, post_dispatch
from tests.sandbox.test_sandbox_standalone import ROOT, Standalone

DISPATCHES = 5



def _wait(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# -- the receiver is down while events are due --------------------------------------------------------
def test_events_due_while_the_receiver_is_down_all_arrive_once_it_is_back(key_pair):
    port = free_port()
    # 6000 simulated seconds per real second: the 600 s expiry takes 0.1 s, the 900 s retry step 0.15 s.
    box = start(db=":memory:", time_scale=6000, api_key=API_KEY, api_secret=API_SECRET,
                signature_secret=SIGNATURE_SECRET)
    receiver = None
    try:
        app = create_app(box, key_pair[1], f"http://127.0.0.1:{port}/webhooks")
        token = mint(app["id"], key_pair[0])
        uuids = [post_dispatch(box, token).json()["dispatch_uuid"] for _ in range(DISPATCHES)]
        # Every dispatch finishes while nobody listens: its webhooks fail and are retried.
        assert _wait(lambda: all(box.dispatch(u)["final_report"] for u in uuids), 10)
        assert _wait(lambda: all(len(d["attempts"]) >= 2 for d in box.deliveries()), 10)
        assert {d["status"] for d in box.deliveries()} == {"pending"}
        receiver = webhooks.start(port, signature_secret=SIGNATURE_SECRET)
        for uuid in uuids:
            assert receiver.wait_for("final_report", dispatch_uuid=uuid, timeout=20).body["status"] == "completed"
        assert _wait(lambda: {d["status"] for d in box.deliveries()} == {"delivered"}, 10)
        deliveries = box.deliveries()
        # 4 statuses (messenger submitted/delivered, sms submitted/delivered) and one final report each.
        assert len(deliveries) == DISPATCHES * 5
        assert len(receiver.events()) == len(deliveries)  # each counted once
        assert receiver.stats.duplicates == 0 and receiver.rejections == []
    finally:
        if receiver is not None:
            receiver.stop()
        box.stop()


# -- the sandbox is killed during a failover ------------------------------------------------------------
def test_a_sandbox_killed_during_failover_finishes_after_a_restart(tmp_path, key_pair):
    db = tmp_path / "killed.sqlite3"
    receiver = webhooks.start(0)
    first = Standalone("--db", str(db), "--time-scale", "600", cwd=ROOT)
    try:
        app = create_app(first, key_pair[1], f"{receiver.url}/webhooks")
        token = mint(app["id"], key_pair[0])
        uuids = [post_dispatch(first, token).json()["dispatch_uuid"] for _ in range(10)]
        # The Messenger messages are delivered at once; their 600 s expiry (1 s real) has not passed yet.
        # Kill it once every Messenger message is delivered (the timelines say so), before any expiry.
        def timeline(uuid: str) -> dict:
            return requests.get(f"{first.url}/_sandbox/dispatches/{uuid}", auth=basic(first), timeout=10).json()

        assert _wait(lambda: all(timeline(u)["messages"][0]["status"] == "delivered" for u in uuids), 5)
        first.kill()
        second = Standalone("--db", str(db), "--time-scale", "600", cwd=ROOT)
        try:
            for uuid in uuids:
                report = receiver.wait_for("final_report", dispatch_uuid=uuid, timeout=20)
                assert report.body["status"] == "completed"
            for uuid in uuids:
                events = receiver.events(dispatch_uuid=uuid)
                seen = {(e.channel, e.status) for e in events if e.kind == "status"}
                assert {("messenger", "submitted"), ("messenger", "delivered"), ("sms", "submitted"),
                        ("sms", "delivered")} <= seen, seen
                # At least once on the wire, once in the receiver: redeliveries are recognised.
                keys = [e.key for e in events]
                assert len(keys) == len(set(keys))
            listed = requests.get(f"{second.url}/_sandbox/deliveries", auth=basic(second), timeout=10).json()
            assert _wait(lambda: all(d["status"] == "delivered" for d in requests.get(
                f"{second.url}/_sandbox/deliveries", auth=basic(second), timeout=10).json()["deliveries"]), 10)
            assert listed["count"] >= len(uuids) * 5
        finally:
            assert second.stop() == 0
    finally:
        if first.proc.poll() is None:  # a failure before the kill: leave no process or pipe behind
            first.kill()
        receiver.stop()


# -- databases that cannot be used --------------------------------------------------------------------------
def _can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@contextlib.contextmanager
def _tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def read_only_folder(tmp_path) -> Iterator[Path]:
    """A folder holding a valid sandbox database that nobody can write (a read-only mount as root)."""
    folder = tmp_path / "ro"
    if _can_mount():
        with _tmpfs(folder, "32m"):
            start(db=folder / "sandbox.sqlite3", clock="manual").stop()
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            yield folder
    else:
        folder.mkdir()
        start(db=folder / "sandbox.sqlite3", clock="manual").stop()
        (folder / "sandbox.sqlite3").chmod(0o444)
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


def test_a_read_only_database_is_refused_at_start(read_only_folder, capsys):
    db = read_only_folder / "sandbox.sqlite3"
    with pytest.raises(StorageError, match=r"cannot use the database at .*sandbox\.sqlite3: .*(read-only|writable)"):
        start(db=db)
    assert cli_main(["sandbox", "--db", str(db), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"fbfailover sandbox: cannot use the database at {db}: ") and err.count("\n") == 1


def test_an_unwritable_folder_is_refused_at_start(read_only_folder):
    with pytest.raises(StorageError, match=r"not writable|cannot create the folder|read-only"):
        check_database(read_only_folder / "new" / "sandbox.sqlite3")
    with pytest.raises(StorageError, match=r"not writable|read-only"):
        check_database(read_only_folder / "other.sqlite3")


def test_a_full_disk_is_refused_at_start(tmp_path, monkeypatch, capsys):
    if _can_mount():
        with _tmpfs(tmp_path / "small", "4m") as small, pytest.raises(StorageError, match="the disk is full"):
            start(db=small / "sandbox.sqlite3")
    import fbfailover.sandbox.storage as storage

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(storage.shutil, "disk_usage", lambda _: usage._replace(free=1024))
    db = tmp_path / "full.sqlite3"
    assert cli_main(["sandbox", "--db", str(db), "--port", "0"]) == 2
    assert f"cannot use the database at {db}: the disk is full (1 KiB free" in capsys.readouterr().err
    assert not db.exists()


def test_other_unusable_databases_are_refused_with_their_reason(tmp_path):
    garbage = tmp_path / "notes.txt"
    garbage.write_bytes(b"these are not the pages of a database" * 100)
    with pytest.raises(StorageError, match="not a SQLite database"):
        check_database(garbage)
    with pytest.raises(StorageError, match="folder, not a file"):
        check_database(tmp_path)
    with pytest.raises(StorageError, match="cannot create the folder"):
        check_database(garbage / "sub" / "sandbox.sqlite3")
    check_database(":memory:")
    check_database(tmp_path / "fresh" / "sandbox.sqlite3")
    assert not (tmp_path / "fresh" / "sandbox.sqlite3").exists()  # the check leaves nothing behind


def test_a_disk_that_fills_up_while_running_is_never_silent_loss(tmp_path, key_pair):
    if not _can_mount():
        pytest.skip("needs root to mount a small file system")
    with _tmpfs(tmp_path / "filling", "20m") as folder:
        box = start(db=folder / "sandbox.sqlite3", clock="manual")
        try:
            app = create_app(box, key_pair[1], "http://127.0.0.1:9")
            token = mint(app["id"], key_pair[0])
            with open(folder / "filler", "wb") as filler, contextlib.suppress(OSError):
                while True:
                    filler.write(b"\0" * (1 << 20))
            answers = [post_dispatch(box, token) for _ in range(200)]
            refused = [a for a in answers if a.status_code != 202]
            assert refused, "every request was answered 202 on a full disk"
            assert {a.status_code for a in refused} == {503}
            assert "Nothing was accepted" in refused[0].json()["detail"]
        finally:
            (folder / "filler").unlink(missing_ok=True)
            box.stop()
