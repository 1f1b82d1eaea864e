"""A workshop whose sandbox cannot open a connection to the attendee: the whole tutorial still runs.

The sandbox runs in its own network namespace (another machine, as far as the network goes): it cannot reach this
machine's loopback, where a notebook kernel's receiver would listen. Notebooks 01 to 05 run in order, as an
attendee runs them, with only ``FBFAILOVER_SANDBOX_URL`` and ``FBFAILOVER_WORKSHOP_TOKEN`` set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests
from dotenv import dotenv_values

from fbfailover import webhooks
from tests.kernels import run_notebook
from tests.netns import room, sandbox_in

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-5]-*.ipynb"))
TOKEN = "room-far-away"
PORT = 18765


@pytest.fixture(scope="module")
def far_sandbox(tmp_path_factory):
    """``fbfailover sandbox --workshop --host 0.0.0.0`` in a network namespace; yields (room, url)."""
    folder = tmp_path_factory.mktemp("far")
    with room() as far, sandbox_in(far, folder, PORT, "--workshop", "--workshop-token", TOKEN) as url:
        yield far, url


def test_the_sandbox_cannot_reach_this_machines_loopback(far_sandbox):
    far, _ = far_sandbox
    receiver = webhooks.start(0, replace=False)
    try:
        probe = far.run([sys.executable, "-c", "import socket, sys; s = socket.socket(); s.settimeout(2); "
                         f"sys.exit(s.connect_ex(('127.0.0.1', {receiver.port})))"])
        assert probe.returncode != 0  # refused: the namespace's loopback is its own
    finally:
        receiver.stop()


def test_the_whole_tutorial_runs_against_a_sandbox_that_cannot_reach_the_attendee(far_sandbox, isolated_settings,
                                                                                     monkeypatch):
    _, url = far_sandbox
    monkeypatch.setenv("FBFAILOVER_SANDBOX_URL", url)
    monkeypatch.setenv("FBFAILOVER_WORKSHOP_TOKEN", TOKEN)
    for path in NOTEBOOKS:
        errors = [(path.name, *error) for error in run_notebook(path, timeout=120)]
        assert errors == []
    saved = dotenv_values(isolated_settings / ".env")
    auth = (saved["VONAGE_API_KEY"], saved["VONAGE_API_SECRET"])
    deliveries = requests.get(f"{url}/_sandbox/deliveries", auth=auth, timeout=10).json()["deliveries"]
    assert deliveries and all("/_sandbox/mailbox/" in d["url"] and d["status"] == "delivered" for d in deliveries)
    kinds = {d["kind"] for d in deliveries}
    assert {"inbound", "status", "final_report"} <= kinds
    reports = [d["body"] for d in deliveries if d["kind"] == "final_report"]
    assert reports and all(r["status"] in ("completed", "error") for r in reports)
    v1 = [d["body"] for d in deliveries if d["kind"] == "status" and "workflow" in d["body"]]
    assert v1, "step 05's v1 failover statuses reached the attendee"
