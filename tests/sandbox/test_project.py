"""The project's one sandbox: found or started, locked to its database, restarted on a refused connection only,
read from the newest event by each kernel, ended when idle or when its state file goes; webhook timestamps near the
wall clock."""

from __future__ import annotations

import dataclasses
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from fbfailover import sandbox
from fbfailover.errors import SandboxError, UncertainTransportError
from fbfailover.sandbox.instance import read_state, stop_project_sandbox
from fbfailover.sandbox.project import ensure_project_sandbox
from fbfailover.sandbox.storage import StorageError, check_database
from fbfailover.webhooks.events import parse_timestamp
from fbfailover.webhooks.stream import StreamSource
from tests.sandbox.sandbox_helpers import create_app, mint, post_dispatch


@pytest.fixture
def project(isolated_settings: Path):
    environ = {"FBFAILOVER_DATA_DIR": str(isolated_settings / "data")}
    yield environ
    stop_project_sandbox(environ)


def test_one_sandbox_for_every_caller_its_state_file_private(project):
    first = ensure_project_sandbox(project)
    again = ensure_project_sandbox(project)
    assert again.url == first.url and again.pid == first.pid and again.api_key == first.api_key
    state_file = Path(project["FBFAILOVER_DATA_DIR"]) / "sandbox.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600  # it holds the account's secrets
    assert stat.S_IMODE((state_file.parent / "sandbox.log").stat().st_mode) == 0o600
    assert first.api_secret not in (state_file.parent / "sandbox.log").read_text()
    assert first.info()["sandbox"] == "fbfailover"


def test_callers_starting_at_once_start_one_sandbox(project):
    found: list = []
    threads = [threading.Thread(target=lambda: found.append(ensure_project_sandbox(project).pid)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(found) == 4 and len(set(found)) == 1


def test_a_second_sandbox_on_the_same_database_is_refused(tmp_path):
    db = tmp_path / "box.sqlite3"
    box = sandbox.start(db=db)
    try:
        with pytest.raises(StorageError, match=rf"the sandbox process {os.getpid()} is using it"):
            sandbox.start(db=db)
        with pytest.raises(StorageError, match="one sandbox per database file"):
            check_database(db)
        assert box.info()["sandbox"] == "fbfailover"  # the first one is untouched
    finally:
        box.stop()
    sandbox.start(db=db).stop()  # once the first has stopped, the database is free again


def test_a_refused_connection_starts_it_again_and_is_sent_again(project):
    box = ensure_project_sandbox(project)
    dead = box.pid
    stop_project_sandbox(project)
    assert box.clock()["mode"] == "real"  # refused, started again on the same port, asked again
    assert box.pid != dead and read_state(Path(project["FBFAILOVER_DATA_DIR"]) / "sandbox.json").url == box.url


def test_a_request_that_was_sent_and_got_no_answer_is_never_sent_again(project):
    """A server that reads the request and closes without answering: the POST may have been accepted."""
    box = ensure_project_sandbox(project)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    received: list[bytes] = []

    def swallow() -> None:
        listener.settimeout(10)
        try:
            while True:
                conn, _ = listener.accept()
                received.append(conn.recv(65536))
                conn.close()
        except OSError:
            return

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    from fbfailover.client import VonageClient
    from fbfailover.config import Settings

    box.state = dataclasses.replace(box.state, url=f"http://127.0.0.1:{port}")  # as if the sandbox listened there
    box.url = box.state.url
    client = VonageClient(Settings(api_key=box.api_key, api_secret=box.api_secret, api_url=box.url,
                                   rest_url=box.url))
    box.mount(client.session)
    with pytest.raises(UncertainTransportError, match="may or may not have been accepted"):
        client.create_application({"name": "x"})
    listener.close()
    thread.join(5)
    assert len(received) == 1  # sent once, never again


def test_a_sandbox_that_cannot_start_says_why(project, tmp_path):
    db = Path(project["FBFAILOVER_DATA_DIR"]) / "sandbox.sqlite3"
    holder = sandbox.start(db=db)  # another sandbox holds the project's database
    try:
        with pytest.raises(SandboxError, match=r"did not start: .*is using it.*sandbox\.log"):
            ensure_project_sandbox(project)
    finally:
        holder.stop()


def test_it_ends_when_its_state_file_is_removed_and_when_idle(tmp_path):
    state = tmp_path / "sandbox.json"
    with subprocess.Popen([sys.executable, "-m", "fbfailover.sandbox", "--port", "0", "--db",
                           str(tmp_path / "a.sqlite3"), "--state-file", str(state)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        try:
            deadline = time.monotonic() + 30
            while read_state(state) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert read_state(state).pid == process.pid
            state.unlink()  # the data folder went away (a temporary project removed)
            assert process.wait(15) == 0
            assert "no longer names this process" in process.stdout.read()
        finally:
            process.kill()
    idle = subprocess.run([sys.executable, "-m", "fbfailover.sandbox", "--port", "0", "--db",
                           str(tmp_path / "b.sqlite3"), "--exit-when-idle", "1"],
                          capture_output=True, text=True, timeout=30)
    assert idle.returncode == 0 and "stopped (no request for 1 s)" in idle.stdout


def test_a_new_reader_starts_at_the_newest_event(box, key_pair):
    app = create_app(box, key_pair[1], f"{box.url}/_sandbox/mailbox/{box.api_key}/webhooks")
    token = mint(app["id"], key_pair[0])
    before = post_dispatch(box, token).json()["dispatch_uuid"]
    everything = StreamSource(box.url, box.api_key, box.api_secret, signature_secret=box.signature_secret)
    everything.wait_for("final_report", dispatch_uuid=before, timeout=20)  # its webhooks are all in the mailbox
    everything.stop()
    auth = (box.api_key, box.api_secret)
    latest = requests.get(f"{box.url}/_sandbox/events", params={"after": "latest"}, auth=auth, timeout=10).json()
    assert latest["events"] == [] and latest["cursor"] > 0
    source = StreamSource(box.url, box.api_key, box.api_secret, signature_secret=box.signature_secret,
                          from_latest=True)
    try:
        assert source.wait_until_connected(10) and source.events() == []  # what came before is not its own
        uuid = post_dispatch(box, token).json()["dispatch_uuid"]
        report = source.wait_for("final_report", dispatch_uuid=uuid, timeout=20)
        assert {e.dispatch_uuid for e in source.events()} == {uuid} and report.status == "completed"
    finally:
        source.stop()


def test_webhook_timestamps_are_the_dispatch_real_start_plus_simulated_seconds(tmp_path, key_pair):
    box = sandbox.start(db=tmp_path / "box.sqlite3", clock="manual")
    try:
        box.advance(30 * 86400)  # a long-lived sandbox: its clock is a month ahead of the wall clock
        app = create_app(box, key_pair[1], f"{box.url}/_sandbox/mailbox/{box.api_key}/webhooks")
        started = time.time()
        uuid = post_dispatch(box, mint(app["id"], key_pair[0])).json()["dispatch_uuid"]
        box.advance(700)
        timeline = box.dispatch(uuid)
        bodies = [d["body"] for d in box.deliveries(uuid)]
    finally:
        box.stop()
    stamps = [parse_timestamp(b["timestamp"]).timestamp() for b in bodies]
    assert abs(min(stamps) - started) < 5  # the first webhook: the real time it was sent
    assert round(max(stamps) - min(stamps)) in (601, 602)  # then simulated seconds: the SMS 600 s later
    assert abs(parse_timestamp(timeline["created"]).timestamp() - started) < 5


def test_two_notebooks_never_share_a_cursor(tmp_path):
    from fbfailover.webhooks.stream import cursor_file

    four = cursor_file(tmp_path, "http://room:8765", "k1", "04-send.ipynb")
    five = cursor_file(tmp_path, "http://room:8765", "k1", "05-messages.ipynb")
    assert four != five and four == cursor_file(tmp_path, "http://room:8765/", "k1", "04-send.ipynb")
