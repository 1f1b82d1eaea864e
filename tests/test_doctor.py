"""``fbfailover doctor``: the checklist, and the round trip through ``FBFAILOVER_PUBLIC_URL`` with each way it fails.

The tunnel that works is a real forwarder listening on a non-loopback address of this machine (the host side of a
network namespace's link), forwarding to ``127.0.0.1:<receiver port>``, as ngrok's agent does.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests
import tornado.web

from fbfailover import sandbox, webhooks
from fbfailover.background import serve
from fbfailover.config import load_settings
from fbfailover.doctor import Check, checks, report, round_trip
from tests.netns import room
from tests.ports import free_port
from tests.test_live_rehearsal import forwarder


@pytest.fixture
def receiver() -> Iterator[webhooks.Receiver]:
    started = webhooks.start(0, replace=False)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def vonage() -> Iterator[sandbox.Sandbox]:
    box = sandbox.start(db=":memory:")
    try:
        yield box
    finally:
        box.stop()


class _Hello(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Server", "nginx")
        self.finish("<h1>Welcome</h1>")


@contextlib.contextmanager
def _plain_http() -> Iterator[int]:
    """A port that answers every connection at once with a plain-HTTP 400, as an http server does to TLS."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def answer() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(15)
        listener.close()


def test_the_echo_route_answers_the_nonce_and_stores_nothing(receiver):
    answer = requests.get(f"{receiver.url}/_fbfailover/echo", params={"nonce": "abc-1"}, timeout=10)
    assert answer.status_code == 200 and answer.json()["nonce"] == "abc-1" and len(answer.json()["instance"]) == 16
    assert answer.headers["Cache-Control"] == "no-store"
    for bad in ("", "x" * 65, "<script>"):
        refused = requests.get(f"{receiver.url}/_fbfailover/echo", params={"nonce": bad}, timeout=10)
        assert refused.status_code == 400 and refused.json()["title"] == "Bad Request"
    assert requests.get(f"{receiver.url}/health", timeout=10).json()["events"] == 0


def test_each_way_the_round_trip_fails_says_why(receiver):
    port = receiver.port
    unset = round_trip(None, port)
    assert unset.ok is False and "FBFAILOVER_PUBLIC_URL is not set" in unset.detail
    assert f"ngrok http {port}" in unset.detail
    nobody = round_trip("http://127.0.0.1:9", free_port())
    assert nobody.ok is False and "no fbfailover receiver answers" in nobody.detail
    dns = round_trip("http://no-such-tunnel.invalid", port, timeout=5)
    assert dns.ok is False and "DNS: the host name no-such-tunnel.invalid does not resolve" in dns.detail
    closed = free_port()
    refused = round_trip(f"http://127.0.0.1:{closed}", port)
    assert refused.ok is False and f"connection refused at 127.0.0.1:{closed}" in refused.detail
    with _plain_http() as plain:  # an https URL to a port that speaks plain HTTP
        tls = round_trip(f"https://127.0.0.1:{plain}", port)
    assert tls.ok is False and "TLS failed" in tls.detail
    other = serve(tornado.web.Application([(r".*", _Hello)], log_function=lambda h: None), name="other-service")
    second = webhooks.start(0, replace=False)
    try:
        answered = round_trip(other.url, port)
        assert answered.ok is False and "another service (200 OK, Server: nginx)" in answered.detail
        wrong_port = round_trip(second.url, port)
        assert wrong_port.ok is False and "reaches an fbfailover receiver, but not the one on port" in wrong_port.detail
    finally:
        other.stop()
        second.stop()
    for check in (dns, refused, tls, answered, wrong_port):
        assert check.detail.startswith("FBFAILOVER_PUBLIC_URL=") and check.name.endswith("FBFAILOVER_PUBLIC_URL")


def test_the_sandbox_checklist_passes_without_settings():
    found = checks(load_settings({}))
    assert [c.name for c in found] == ["versions", ".env", "mode"]
    assert "Python 3." in found[0].detail and "tornado " in found[0].detail
    assert found[2].detail == ("sandbox: requests go to the project's offline sandbox on this machine, not running "
                               "now (the first notebook starts it)")
    assert report(found).endswith("all checks passed")
    assert report([Check("x", False, "broken")]).splitlines() == ["[FAIL] x: broken", "1 check(s) failed: x"]


def _doctor(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VONAGE_", "NEXMO_", "FBFAILOVER_"))}
    clean.update(FBFAILOVER_ENV_FILE=os.environ["FBFAILOVER_ENV_FILE"], **env)
    return subprocess.run([sys.executable, "-m", "fbfailover", "doctor", "--timeout", "5"], env=clean,
                          capture_output=True, text=True, timeout=120)


def test_doctor_exits_0_through_a_tunnel_and_1_naming_the_url_without_one(receiver, vonage):
    live = {"VONAGE_API_KEY": vonage.api_key, "VONAGE_API_SECRET": vonage.api_secret, "VONAGE_API_URL": vonage.url,
            "VONAGE_REST_URL": vonage.url, "FBFAILOVER_RECEIVER_PORT": str(receiver.port)}
    with room("fbd") as far:
        tunnel, tunnelled = forwarder(far.outside, f"http://127.0.0.1:{receiver.port}")
        try:
            assert not tunnel.url.startswith("http://127.")
            ok = _doctor({**live, "FBFAILOVER_PUBLIC_URL": tunnel.url})
            assert ok.returncode == 0, ok.stdout + ok.stderr
            assert f"[ok  ] round trip through FBFAILOVER_PUBLIC_URL: a nonce sent to {tunnel.url}" in ok.stdout
            assert "[ok  ] credentials:" in ok.stdout and "[ok  ] receiver on FBFAILOVER_RECEIVER_PORT" in ok.stdout
            assert "mode: live: requests go to " + vonage.url in ok.stdout and vonage.api_secret not in ok.stdout
            assert ok.stdout.rstrip().endswith("all checks passed")
            assert tunnelled == ["/_fbfailover/echo"]  # one GET through the tunnel, nothing else
        finally:
            tunnel.stop()
        # The tunnel is gone: the same address now refuses, and the doctor names the setting.
        broken = _doctor({**live, "FBFAILOVER_PUBLIC_URL": tunnel.url})
        assert broken.returncode == 1
        assert f"FBFAILOVER_PUBLIC_URL={tunnel.url} does not reach this machine: connection refused" in broken.stdout
        assert broken.stdout.rstrip().endswith("1 check(s) failed: round trip through FBFAILOVER_PUBLIC_URL")
    wrong = _doctor({**live, "VONAGE_API_SECRET": "not-the-secret", "FBFAILOVER_PUBLIC_URL": tunnel.url})
    assert wrong.returncode == 1 and "[FAIL] credentials: GET /v2/applications" in wrong.stdout
