"""The standalone server in a subprocess: startup output, persistence across SIGKILL, the tutorial's curl."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.sandbox.sandbox_helpers import SMS_TO, basic, create_app, mint, tutorial_body

ROOT = Path(__file__).resolve().parents[2]


class Standalone:
    def __init__(self, *args: str, cwd: Path):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fbfailover.sandbox", "--port", "0", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = self.proc.stdout.readline()
        match = re.fullmatch(r"fbfailover sandbox listening on (http://127\.0\.0\.1:\d+)\n", first)
        assert match, first + self.proc.stderr.read()
        self.url = match.group(1)
        second = self.proc.stdout.readline()
        kept = re.search(r" are in (\S+) \(mode 0600", second)  # a workshop prints its secrets to a file only
        if kept:
            lines = Path(kept.group(1)).read_text().splitlines()
            found = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
            creds = {name: found[f"VONAGE_{name.upper()}"] for name in ("api_key", "api_secret", "signature_secret")}
        else:
            creds = dict(part.split("=", 1) for part in second.split())
        self.api_key, self.api_secret = creds["api_key"], creds["api_secret"]
        self.signature_secret = creds["signature_secret"]

    def advance(self, seconds: float) -> dict:
        return requests.post(f"{self.url}/_sandbox/clock/advance", json={"seconds": seconds}, timeout=30).json()

    def get(self, path: str):
        return requests.get(f"{self.url}/_sandbox/{path}", timeout=10).json()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


def test_generated_credentials_are_kept_in_the_db(tmp_path):
    db = tmp_path / "box.sqlite3"
    first = Standalone("--db", str(db), cwd=tmp_path)
    assert re.fullmatch(r"[0-9a-f]{8}", first.api_key)
    assert first.stop() == 0
    again = Standalone("--db", str(db), cwd=tmp_path)
    assert (again.api_key, again.api_secret, again.signature_secret) == (
        first.api_key,
        first.api_secret,
        first.signature_secret,
    )
    assert again.stop() == 0
    fixed = Standalone(
        "--db", str(db), "--api-key", "k1", "--api-secret", "s1", "--signature-secret", "x" * 32, cwd=tmp_path
    )
    assert (fixed.api_key, fixed.api_secret) == ("k1", "s1")
    fixed.stop()


def test_nothing_is_lost_after_sigkill(tmp_path, collector, key_pair):
    db = tmp_path / "box.sqlite3"
    box = Standalone("--db", str(db), "--clock", "manual", cwd=tmp_path)
    app = create_app(box, key_pair[1], collector.url)
    collector.codes["/status"] = 503  # the receiver is down: deliveries stay pending
    token = mint(app["id"], key_pair[0])
    dispatch_uuid = requests.post(
        f"{box.url}/v0.1/dispatch", json=tutorial_body(), timeout=10, headers={"Authorization": f"Bearer {token}"}
    ).json()["dispatch_uuid"]
    box.advance(10)
    before = box.get(f"dispatches/{dispatch_uuid}")
    assert before["status"] == "in_progress" and before["messages"][0]["status"] == "delivered"
    assert all(d["status"] == "pending" for d in box.get("deliveries")["deliveries"])
    box.kill()

    collector.codes["/status"] = 200
    box = Standalone("--db", str(db), "--clock", "manual", cwd=tmp_path)
    try:
        after = box.get(f"dispatches/{dispatch_uuid}")
        assert after["expiry"] == before["expiry"] and after["now"] == before["now"]
        assert post_ok(box, token)  # the application and its key survived
        box.advance(600)
        done = box.get(f"dispatches/{dispatch_uuid}")
        assert done["status"] == "completed"
        assert [(m["channel"], m["status"]) for m in done["messages"]] == [
            ("messenger", "delivered"),
            ("sms", "delivered"),
        ]
        deliveries = box.get(f"deliveries?dispatch_uuid={dispatch_uuid}")["deliveries"]
        assert {d["status"] for d in deliveries} == {"delivered"}
        resumed = deliveries[0]
        assert [a["status_code"] for a in resumed["attempts"]][:2] == [503, 503]
        assert resumed["attempts"][-1]["status_code"] == 200
        received = [h.json() for h in collector.hits if h.path == "/status"]
        assert {(b["to"]["type"], b["status"]) for b in received if "to" in b} >= {
            ("messenger", "submitted"),
            ("messenger", "delivered"),
            ("sms", "submitted"),
            ("sms", "delivered"),
        }
        assert any(b.get("dispatch_uuid") == dispatch_uuid for b in received)
    finally:
        box.stop()


def post_ok(box, token: str) -> bool:
    response = requests.post(
        f"{box.url}/v0.1/dispatch", json=tutorial_body(), timeout=10, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code == 202


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_tutorials_curl_command(tmp_path, key_pair):
    box = Standalone("--db", ":memory:", cwd=tmp_path)
    try:
        app = create_app(box, key_pair[1])
        jwt_token = mint(app["id"], key_pair[0], drop=("exp",))
        body = json.dumps(tutorial_body(), indent=2)
        script = (
            f"curl -s -w '\\n%{{http_code}}' -X POST {box.url}/v0.1/dispatch \\\n"
            "  -H 'Authorization: Bearer '$JWT \\\n"
            "  -H 'Content-Type: application/json' \\\n"
            f"  -d $'{body}'"
        )
        result = subprocess.run(
            ["bash", "-c", script],
            env={**os.environ, "JWT": jwt_token},
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        answer, code = result.stdout.rsplit("\n", 1)
        assert code == "202"
        dispatch_uuid = json.loads(answer)["dispatch_uuid"]
        deadline = time.monotonic() + 10  # 600 simulated seconds take one real second at the default scale
        while time.monotonic() < deadline:
            timeline = requests.get(f"{box.url}/_sandbox/dispatches/{dispatch_uuid}", timeout=10).json()
            if timeline["status"] != "in_progress":
                break
            time.sleep(0.1)
        assert timeline["status"] == "completed"
        assert timeline["messages"][1]["to"] == {"type": "sms", "number": SMS_TO}
        basic_curl = subprocess.run(
            [
                "curl",
                "-s",
                "-u",
                ":".join(basic(box)),
                "-H",
                "Content-Type: application/json",
                "-d",
                json.dumps(tutorial_body()),
                f"{box.url}/v0.1/dispatch",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert "dispatch_uuid" in json.loads(basic_curl.stdout)
    finally:
        box.stop()
