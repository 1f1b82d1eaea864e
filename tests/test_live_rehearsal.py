"""Live mode rehearsed: the whole tutorial with an account's credentials, as a learner with a real account runs it.

A standalone sandbox plays Vonage from another network namespace: it cannot reach this machine's loopback, so its
webhooks come back only through a forwarder that plays the tunnel (``FBFAILOVER_PUBLIC_URL`` → forwarder →
``127.0.0.1:FBFAILOVER_RECEIVER_PORT``, where the project's one receiver listens). The API calls go through a
recording proxy, which proves that live mode never calls a ``/_sandbox/`` endpoint. Step 01's inbound message comes
from outside (the sandbox's control API, playing a Facebook user) while the notebook waits.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
import requests
import tornado.httpclient
import tornado.web
from dotenv import dotenv_values

from fbfailover.background import serve
from tests.kernels import run_notebook
from tests.netns import room, sandbox_in
from tests.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("0[1-5]-*.ipynb"))
KEY, SECRET, SIGNATURE = "live1234", "live-secret-0123", "live-signature-secret-0123456789abcdef"
PORT = 18766



class Forward(tornado.web.RequestHandler):
    """Forward every request to ``target`` as it came; remember each path (a tunnel, or a recording proxy)."""

    SUPPORTED_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")

    def initialize(self, target: str, seen: list[str]) -> None:
        self.target, self.seen = target, seen

    async def _forward(self) -> None:
        self.seen.append(self.request.path)
        headers = {k: v for k, v in self.request.headers.get_all() if k.lower() not in ("host", "content-length")}
        response = await tornado.httpclient.AsyncHTTPClient().fetch(
            self.target + self.request.uri, method=self.request.method, headers=headers,
            body=self.request.body if self.request.method in ("POST", "PUT", "PATCH") else None,
            allow_nonstandard_methods=True, raise_error=False, follow_redirects=False, request_timeout=60)
        self.set_status(response.code if response.code != 599 else 502)
        for name in ("Content-Type", "X-Fbfailover-Receiver", "X-Fbfailover-Sandbox"):
            if name in response.headers:
                self.set_header(name, response.headers[name])
        if response.code != 204:
            self.write(response.body or b"")

    get = post = put = delete = patch = _forward


def forwarder(host: str, target: str) -> tuple[object, list[str]]:
    seen: list[str] = []
    app = tornado.web.Application([(r".*", Forward, {"target": target, "seen": seen})],
                                  log_function=lambda handler: None)
    return serve(app, host, free_port(), name="forwarder"), seen


@pytest.fixture(scope="module")
def vonage(tmp_path_factory):
    """The standalone sandbox playing Vonage in another namespace; yields (room, url)."""
    folder = tmp_path_factory.mktemp("vonage")
    with room("fbv") as far, sandbox_in(far, folder, PORT, "--api-key", KEY, "--api-secret", SECRET,
                                         "--signature-secret", SIGNATURE) as url:
        yield far, url


def test_the_whole_tutorial_in_live_mode_through_a_tunnel(vonage, isolated_settings, monkeypatch):
    from fbfailover.config import load_settings
    from fbfailover.webhooks.shared import ensure_shared_receiver, stop_shared_receiver

    far, url = vonage
    receiver_port = free_port()
    tunnel, tunnelled = forwarder(far.outside, f"http://127.0.0.1:{receiver_port}")
    proxy, called = forwarder("127.0.0.1", url)
    public = tunnel.url
    env = {"VONAGE_API_KEY": KEY, "VONAGE_API_SECRET": SECRET, "VONAGE_SIGNATURE_SECRET": SIGNATURE,
           "VONAGE_API_URL": proxy.url, "VONAGE_REST_URL": proxy.url, "FBFAILOVER_PUBLIC_URL": public,
           "FBFAILOVER_RECEIVER_PORT": str(receiver_port), "FROM_NUMBER": "447700900000",
           "TO_NUMBER": "447700900001"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The learner's account webhooks already point at the tunnel (step 01 then has nothing to change). They were
    # saved while the receiver ran behind it: the account API saves only URLs that answer.
    ensure_shared_receiver(load_settings(), os.environ)
    requests.post(f"{url}/account/settings", params={"api_key": KEY, "api_secret": SECRET}, data={
        "moCallBackUrl": f"{public}/webhooks/inbound-sms",
        "drCallBackUrl": f"{public}/webhooks/delivery-receipt"}, timeout=10).raise_for_status()
    # A Facebook user writes to the Page while step 01 waits (again every few seconds, as a person would).
    writing = threading.Event()

    def user() -> None:
        while writing.is_set():
            requests.post(f"{url}/_sandbox/inbound", auth=(KEY, SECRET), json={"channel": "messenger"}, timeout=10)
            time.sleep(2)

    try:
        for path in NOTEBOOKS:
            writer = None
            if path.name.startswith("01"):
                writing.set()
                writer = threading.Thread(target=user, daemon=True)
                writer.start()
            try:
                errors = [(path.name, *error) for error in run_notebook(path, timeout=400)]
            finally:
                writing.clear()
                if writer is not None:
                    writer.join(15)
            assert errors == []
    finally:
        stop_shared_receiver()
        tunnel.stop()
        proxy.stop()
    assert called and not [p for p in called if p.startswith("/_sandbox")], "live mode called the control API"
    assert any(p.startswith("/webhooks/") for p in tunnelled), "webhooks came through the tunnel"
    saved = dotenv_values(isolated_settings / ".env")
    assert saved.get("FB_SENDER_ID") and saved.get("FB_RECIPIENT_ID") and saved.get("VONAGE_APPLICATION_ID")
    deliveries = requests.get(f"{url}/_sandbox/deliveries", auth=(KEY, SECRET), timeout=10).json()["deliveries"]
    reports = [d for d in deliveries if d["kind"] == "final_report"]
    assert reports and all(d["status"] == "delivered" and d["url"].startswith(public) for d in reports)
    assert any("workflow" in d["body"] for d in deliveries if d["kind"] == "status"), "step 05's v1 statuses"
