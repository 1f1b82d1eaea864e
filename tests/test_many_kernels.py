"""Several notebooks of one project open at once: real kernels share the project's one sandbox.

Each kernel is a ``jupyter_client`` kernel (a process, as JupyterLab starts one per notebook tab) in the same project
folder. They interleave their sends; every send is accepted, and the final report of every dispatch reaches the
kernel that sent it exactly once, also when the kernel that started the sandbox is closed in the middle of a
failover. A sandbox process that is killed is started again by the next kernel call, with everything it
committed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fbfailover.sandbox.instance import read_state, stop_project_sandbox
from tests.kernels import Kernel, kernel_env

pytestmark = pytest.mark.slow

SETUP = """\
from fbfailover import tutorial
tut = tutorial.connect()
tutorial.ensure_application(tut)
body = tutorial.compare_requests(tut).data["dispatch"]
mine = []

def send():
    run = tut.send("POST", "/v0.1/dispatch", body, follow=False)
    if run.dispatch_uuid:
        mine.append(run.dispatch_uuid)
    return run.status

def reports():
    for uuid in mine:
        tut.receiver.wait_for("final_report", dispatch_uuid=uuid, timeout=30)
    return {uuid: len(tut.receiver.events("final_report", dispatch_uuid=uuid)) for uuid in mine}

tut.sandbox.url
"""


def _state(home: Path):
    return read_state(home / "data" / "sandbox.json")


@pytest.fixture
def kernels(isolated_settings: Path):
    """Start kernels with ``start(name)`` in one project folder; all are shut down after the test."""
    started: list[Kernel] = []
    env = kernel_env(isolated_settings)

    def start(name: str) -> Kernel:
        kernel = Kernel(isolated_settings, env, name)
        started.append(kernel)
        return kernel

    yield start
    for kernel in started:
        with contextlib.suppress(Exception):  # already shut down by the test
            kernel.shutdown()
    stop_project_sandbox({"FBFAILOVER_DATA_DIR": str(isolated_settings / "data")})


def test_three_kernels_interleave_and_each_gets_its_own_final_reports_once(kernels, isolated_settings):
    a, b, c = kernels("A"), kernels("B"), kernels("C")
    url = a.run(SETUP)  # A is the first: it starts the project's sandbox
    started_by_a = _state(isolated_settings)
    assert started_by_a is not None
    assert b.run(SETUP) == url == c.run(SETUP)  # the others find it: one sandbox, one URL
    assert _state(isolated_settings).pid == started_by_a.pid

    statuses = [k.value("send()") for k in (a, b, b, c, a, c, b, a)]
    assert statuses == [202] * 8

    # A sends once more and its notebook is closed in the middle of that failover (600 s take 1 s): A is the
    # kernel that started the sandbox, which outlives it.
    last_of_a = a.value("send() and mine[-1]")
    a.shutdown()
    assert _state(isolated_settings).pid == started_by_a.pid
    os.kill(started_by_a.pid, 0)  # still running

    # The survivors keep working: more interleaved sends, all accepted.
    assert [k.value("send()") for k in (c, b, c)] == [202, 202, 202]
    for kernel in (b, c):
        counts = kernel.value("reports()", timeout=90)
        assert len(counts) >= 3 and set(counts.values()) == {1}, (kernel.name, counts)
        assert kernel.value("tut.receiver.stats.duplicates") == 0
        assert kernel.value("tut.receiver.rejections") == []
        # What another kernel sent never shows up as this kernel's own run.
        assert kernel.value("all(r['status'] == 'completed' for r in "
                            "(tut.receiver.wait_for('final_report', dispatch_uuid=u).body for u in mine))")
    # The dispatch A left mid-failover finished in the sandbox, with one final report, delivered once.
    finished = b.value(f"tut.sandbox.dispatch({last_of_a!r})['status']", timeout=30)
    deadline = time.monotonic() + 30
    while finished == "in_progress" and time.monotonic() < deadline:
        b.run("import time; time.sleep(0.2)")
        finished = b.value(f"tut.sandbox.dispatch({last_of_a!r})['status']")
    assert finished == "completed"
    reports = b.value(f"[d['status'] for d in tut.sandbox.deliveries({last_of_a!r}) if d['kind'] == 'final_report']")
    assert reports == ["delivered"]


def test_a_killed_sandbox_is_started_again_by_the_next_call_with_its_state(kernels, isolated_settings):
    a, b = kernels("A"), kernels("B")
    url = a.run(SETUP)
    assert b.run(SETUP) == url
    first = a.value("send() and mine[-1]")
    assert a.value("reports()") == {first: 1}
    app_id = a.value("tut.settings.application_id")
    dead = _state(isolated_settings).pid
    os.kill(dead, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(dead, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)

    # B's next call finds no sandbox (connection refused: nothing was sent), starts it again and asks again.
    assert b.value(f"tut.sandbox.dispatch({first!r})['status']") == "completed"
    again = _state(isolated_settings)
    assert again.pid != dead and again.url == _state(isolated_settings).url == url.strip("'")
    assert b.value(f"tut.client.get_application({app_id!r})['id']") == app_id
    # Both kernels keep working on it: their streams reconnect, their sends are accepted and followed.
    assert b.value("send()") == 202 and a.value("send()") == 202
    assert set(a.value("reports()").values()) == {1} and set(b.value("reports()").values()) == {1}


def test_a_second_sandbox_on_the_projects_database_is_refused(kernels, isolated_settings):
    a = kernels("A")
    a.run(SETUP)
    state = _state(isolated_settings)
    done = subprocess.run([sys.executable, "-m", "fbfailover", "sandbox", "--db", state.db, "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"fbfailover sandbox: cannot use the database at {state.db}: the sandbox "
                                  f"process {state.pid} is using it (one sandbox per database file)")
    assert a.value("send()") == 202  # the running one is untouched
