"""The `fbfailover receiver` subcommand."""

from __future__ import annotations

import argparse
import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from fbfailover.webhooks import cli
from tests.webhooks.webhook_helpers import SECRET, final_report_body, post, status_body

LAUNCH = """
import argparse, sys
from fbfailover.webhooks import cli
parser = argparse.ArgumentParser(prog="fbfailover")
cli.register(parser.add_subparsers())
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fbfailover")
    cli.register(parser.add_subparsers())
    return parser.parse_args(["receiver", *argv])


def test_register_defaults():
    args = parse()
    assert (args.port, args.host, args.signature_secret, args.public_url) == (0, "127.0.0.1", None, None)
    assert args.func is cli.run
    assert parse("--port", "3000", "--signature-secret", "x").port == 3000


def test_importing_the_cli_is_cheap():
    code = "import sys, fbfailover.webhooks.cli; print('tornado' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "False"


class _Lines(io.StringIO):
    """A StringIO whose writes can be waited for."""

    def wait_for(self, pattern: str, timeout: float = 5) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.getvalue())
            if found:
                return found
            time.sleep(0.01)
        raise AssertionError(f"{pattern!r} not in {self.getvalue()!r}")


def test_run_prints_events_and_rejections():
    out, err, stop = _Lines(), _Lines(), threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(
        cli.run(parse("--signature-secret", SECRET), out=out, err=err, stop=stop)))
    thread.start()
    try:
        url = out.wait_for(r"^fbfailover receiver listening on (http://127\.0\.0\.1:\d+)\n").group(1)
        err.wait_for("application Status URL")
        assert post(url + "/webhooks/status", status_body(), secret=SECRET).status_code == 200
        assert post(url + "/webhooks/status", final_report_body()).status_code == 503
        out.wait_for(r'\{"kind": "status"')
        err.wait_for(r"rejected /webhooks/status \(503\): unsigned webhook")
    finally:
        stop.set()
        thread.join(10)
    assert result == [0]
    lines = out.getvalue().splitlines()
    assert json.loads(lines[1]) == {"kind": "status", "body": status_body()}
    assert "signatures: verified" in err.getvalue()


def test_port_in_use_is_a_clear_error():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        err = io.StringIO()
        assert cli.run(parse("--port", str(port)), out=io.StringIO(), err=err) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err.getvalue()


def readline(stream, timeout: float = 10) -> str:
    """Read one line from a pipe, failing instead of hanging."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(stream.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError("no line from the receiver process") from None


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_standalone_process_streams_json_lines_and_stops_on_sigterm():
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "receiver"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = readline(proc.stdout)
        url = re.match(r"fbfailover receiver listening on (http://\S+)", first).group(1)
        assert post(url + "/webhooks/inbound", {"message": {"content": {"type": "text"}}}).status_code == 200
        assert json.loads(readline(proc.stdout)) == {"kind": "inbound",
                                                      "body": {"message": {"content": {"type": "text"}}}}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "accepting unsigned webhooks" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_the_signature_secret_and_api_key_default_to_the_settings(monkeypatch):
    assert cli._signature_settings(parse()) == (None, None, None, None)
    monkeypatch.setenv("VONAGE_SIGNATURE_SECRET", "from-settings")
    monkeypatch.setenv("VONAGE_API_KEY", "key1")
    monkeypatch.setenv("FBFAILOVER_PUBLIC_URL", "https://tunnel.example")
    assert cli._signature_settings(parse()) == ("from-settings", "key1", None, "https://tunnel.example")
    assert cli._signature_settings(parse("--signature-secret", "given", "--api-key", "key2"))[:2] == ("given", "key2")


def test_sms_signature_options():
    args = parse("--sms-signature-method", "sha256", "--sms-signature-method", "md5hash", "--require-sms-signature")
    assert args.sms_signature_methods == ["sha256", "md5hash"] and args.require_sms_signature
    assert parse().sms_signature_methods is None and not parse().require_sms_signature


@pytest.mark.parametrize("body", [{}, {"text": "é \" \\ \n", "n": [1, 2.5, None, True]}, [1, "x"], "plain", None,
                                  {"when": __import__("datetime").date(2026, 12, 6)}])
def test_an_event_line_is_the_json_of_kind_and_body(body):
    assert cli._event_line("status", body) == json.dumps({"kind": "status", "body": body}, default=str)


def test_a_batch_is_written_in_chunks_of_bounded_size():
    lines = [f"{n:05d}" + "x" * 994 + "\n" for n in range(200)]  # 1,000 characters each
    chunks = list(cli._chunks(lines))
    assert "".join(chunks) == "".join(lines)
    assert all(len(c) <= cli._WRITE_CHUNK for c in chunks) and len(chunks) == 4
    assert list(cli._chunks(["y" * (cli._WRITE_CHUNK + 1)])) == ["y" * (cli._WRITE_CHUNK + 1)]


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_lines_reach_a_pipe_without_unbuffered_output():
    """stdout to a pipe is block-buffered unless PYTHONUNBUFFERED: each batch's lines must be flushed all the same."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen([sys.executable, "-c", LAUNCH, "receiver"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        url = re.match(r"fbfailover receiver listening on (http://\S+)", readline(proc.stdout)).group(1)
        for n in range(3):
            assert post(url + "/webhooks/inbound", {"text": f"hi {n}"}).status_code == 200
            assert json.loads(readline(proc.stdout)) == {"kind": "inbound", "body": {"text": f"hi {n}"}}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        proc.stdout.close()
