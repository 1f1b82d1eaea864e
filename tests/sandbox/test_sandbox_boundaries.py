"""Import boundaries, the embedded handle, timer accuracy on the real clock."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import requests

from fbfailover import sandbox as sandbox_package
from tests.sandbox.sandbox_helpers import create_app, mint, post_dispatch, tutorial_body

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "fbfailover" / "sandbox"
FORBIDDEN = ("fbfailover.client", "fbfailover.payloads", "fbfailover.validation")


def test_no_sandbox_module_imports_the_client_or_payloads():
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                names = [base, *(f"{base}.{alias.name}" for alias in node.names)] if node.level == 0 else []
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{path.name} imports {name}"


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return result.stdout.strip()


def test_running_the_sandbox_loads_neither_client_nor_payloads_and_the_cli_is_cheap(tmp_path):
    code = (
        "import sys, requests\n"
        "import fbfailover.sandbox.cli\n"
        "print('tornado' in sys.modules, 'jsonschema' in sys.modules)\n"
        "from fbfailover.sandbox import start\n"
        "box = start(db=':memory:', clock='manual')\n"
        "r = requests.post(box.url + '/v0.1/dispatch', json={'template': 'failover', 'workflow': []},\n"
        "                  auth=(box.api_key, box.api_secret))\n"
        "box.stop()\n"
        "print(r.status_code, sorted(m for m in sys.modules if m.startswith('fbfailover')))\n"
    )
    cheap, loaded = _run(code).splitlines()
    assert cheap == "False False"
    status, modules = loaded.split(" ", 1)
    assert status == "400"
    for forbidden in FORBIDDEN:
        assert f"'{forbidden}'" not in modules


def test_public_names():
    assert sorted(sandbox_package.__all__) == sandbox_package.__all__
    for name in sandbox_package.__all__:
        assert getattr(sandbox_package, name) is not None


def test_default_db_lives_in_the_data_dir_and_state_is_shared(monkeypatch, tmp_path, key_pair):
    monkeypatch.setenv("FBFAILOVER_DATA_DIR", str(tmp_path / "data"))
    assert sandbox_package.default_db() == (tmp_path / "data" / "sandbox.sqlite3").resolve()
    with sandbox_package.start(clock="manual") as first:
        app = create_app(first, key_pair[1])
        keys = (first.api_key, first.api_secret, first.signature_secret)
    assert not first.running
    with sandbox_package.start(clock="manual") as second:  # the next notebook: same account, same application
        assert (second.api_key, second.api_secret, second.signature_secret) == keys
        assert post_dispatch(second, mint(app["id"], key_pair[0])).status_code == 202
    assert (tmp_path / "data" / "sandbox.sqlite3").exists()


def test_two_sandboxes_in_one_process_are_independent():
    with (
        sandbox_package.start(db=":memory:", clock="manual") as one,
        sandbox_package.start(db=":memory:", clock="manual") as two,
    ):
        assert one.url != two.url and one.api_key != two.api_key
        one.advance(100)
        assert one.clock()["now_unix"] - two.clock()["now_unix"] > 99


def _ts(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def test_the_next_item_is_due_exactly_at_its_scaled_deadline_on_the_real_clock(key_pair):
    # How late the real-clock timer fires is measured in benchmarks/timer_accuracy.py (a speed target);
    # here: the real clock runs the failover by itself and stamps it at the exact simulated deadline.
    with sandbox_package.start(db=":memory:", time_scale=600.0) as box:
        app = create_app(box, key_pair[1])
        token = mint(app["id"], key_pair[0])
        uuids = [post_dispatch(box, token, tutorial_body(expiry=60)).json()["dispatch_uuid"] for _ in range(5)]
        deadline = time.monotonic() + 30
        while any(box.dispatch(u)["status"] != "completed" for u in uuids) and time.monotonic() < deadline:
            time.sleep(0.05)
        for dispatch_uuid in uuids:
            timeline = box.dispatch(dispatch_uuid)
            assert timeline["status"] == "completed", timeline
            first, second = timeline["messages"]
            real = _ts(second["history"][0]["real_time"]) - _ts(first["history"][0]["real_time"])
            assert real >= 0.1 - 0.005, real  # never early (60 simulated seconds are 0.1 s)
            simulated = _ts(second["history"][0]["timestamp"]) - _ts(first["history"][0]["timestamp"])
            assert abs(simulated - 60) < 0.01


def test_time_scale_and_clock_arguments_are_checked():
    import pytest

    with pytest.raises(ValueError):
        sandbox_package.start(db=":memory:", clock="sometimes")
    with pytest.raises(ValueError):
        sandbox_package.start(db=":memory:", time_scale=0)


def test_control_client_works_against_any_url(sandbox):
    control = sandbox_package.SandboxControl(sandbox.url)
    assert control.info()["api_key"] == sandbox.api_key
    assert requests.get(f"{sandbox.url}/_sandbox/clock", timeout=10).json()["mode"] == "manual"
    control.close()
