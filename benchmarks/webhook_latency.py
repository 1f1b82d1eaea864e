"""Webhook latency: from the sender handing a webhook to its HTTP client to the event being in the store.

Over loopback, for 1,000 signed status webhooks, with the receiver verifying every signature.

The sandbox is the sender: tutorial dispatches whose Messenger message is never read, five webhooks each; it
stamps every webhook with ``X-Fbfailover-Sent-At`` (real epoch seconds, taken as it hands the request to its
HTTP client). With ``--sender self`` this script sends instead, doing what the sandbox does per webhook
(compact JSON, an HS256 signature with ``payload_hash``, a POST through the sandbox's own HTTP client,
``fbfailover.sandbox.outbound.Outbound``), which isolates the receiver's share. The event's ``received_at`` is
stamped as it enters the store.

Last line: ``webhook_p50_ms=<n> webhook_p99_ms=<n>`` (target: p50 <= 5 ms).

    .venv/bin/python benchmarks/webhook_latency.py [--events 1000] [--sender sandbox|self]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import time
import uuid

import jwt

from fbfailover import webhooks
from fbfailover.sandbox.outbound import Outbound
from fbfailover.sandbox.webhook_delivery import PER_HOST

SECRET = "benchmark-signature-secret-0123456789abcdef"
WARM_UP = 50


def status_webhook(n: int) -> dict:
    """A Dispatch status webhook, as the sandbox sends it."""
    dispatch = str(uuid.uuid4())
    return {
        "message_uuid": str(uuid.uuid4()),
        "to": {"type": "sms", "number": "447700900001"},
        "from": {"type": "sms", "number": "447700900000"},
        "timestamp": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
        "status": "delivered",
        "usage": {"price": "0.0333", "currency": "EUR"},
        "_links": {"dispatch": {"href": f"v0.1/dispatch/{dispatch}", "dispatch_uuid": dispatch}},
    }


def signed_headers(raw: bytes) -> dict[str, str]:
    claims = {"iat": int(time.time()), "jti": str(uuid.uuid4()), "iss": "Vonage",
              "payload_hash": hashlib.sha256(raw).hexdigest(), "api_key": "benchmark"}
    return {"Content-Type": "application/json",
            "Authorization": "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")}


async def send_all(url: str, count: int) -> None:
    """Post ``count`` signed webhooks one after another, stamping each just before the POST."""
    client = Outbound(PER_HOST)
    try:
        for n in range(count):
            raw = json.dumps(status_webhook(n), separators=(",", ":")).encode()
            headers = signed_headers(raw)
            headers[webhooks.SENT_AT_HEADER] = repr(time.time())
            code, error = await client.post(url, headers, raw)
            if code != 200:
                raise SystemExit(f"receiver answered {code}: {error}")
    finally:
        await client.close()


def latencies_ms(events: list[webhooks.Event]) -> list[float]:
    return [(e.received_at - e.sent_at) * 1000 for e in events if e.sent_at is not None]


def run_with_sandbox(count: int) -> tuple[str, list[float]]:
    """The sandbox sends: tutorial dispatches (Messenger never read → SMS), five webhooks each."""
    import base64

    import requests

    from fbfailover import sandbox as sandbox_package

    box = sandbox_package.start(db=":memory:", time_scale=600.0)
    receiver = webhooks.start(signature_secret=box.signature_secret, max_events=count + 1000)
    try:
        basic = base64.b64encode(f"{box.api_key}:{box.api_secret}".encode()).decode()
        hooks = {"inbound_url": {"address": receiver.inbound_url, "http_method": "POST"},
                 "status_url": {"address": receiver.status_url, "http_method": "POST"}}
        app = {"name": "benchmark", "capabilities": {"messages": {"webhooks": hooks}}}
        created = requests.post(f"{box.url}/v2/applications", json=app, timeout=30,
                                headers={"Authorization": f"Basic {basic}"}).json()
        box.set_recipient("messenger", "1234567890123456", "delivered")
        now = int(time.time())
        token = jwt.encode({"application_id": created["id"], "iat": now, "jti": str(uuid.uuid4()),
                            "exp": now + 3600}, created["keys"]["private_key"], algorithm="RS256")
        body = {"template": "failover", "workflow": [
            {"from": {"type": "messenger", "id": "9876543210987654"},
             "to": {"type": "messenger", "id": "1234567890123456"},
             "message": {"content": {"type": "text", "text": "Hi"}},
             "failover": {"expiry_time": 600, "condition_status": "read"}},
            {"from": {"type": "sms", "number": "447700900000"},
             "to": {"type": "sms", "number": "447700900001"},
             "message": {"content": {"type": "text", "text": "Hi"}}}]}
        session = requests.Session()
        for _ in range(-(-(count + WARM_UP) // 5)):
            session.post(f"{box.url}/v0.1/dispatch", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}"}).raise_for_status()
            time.sleep(0.02)  # a steady stream, not one burst: latency, not a queue, is measured
        deadline = time.monotonic() + 120
        while receiver.stats.accepted < count + WARM_UP and time.monotonic() < deadline:
            time.sleep(0.1)
        measured = latencies_ms(receiver.events())
        return "the sandbox (tutorial dispatches)", measured[WARM_UP:WARM_UP + count]
    finally:
        receiver.stop()
        box.stop()


def run_as_sender(count: int) -> tuple[str, list[float]]:
    receiver = webhooks.start(signature_secret=SECRET, max_events=count + WARM_UP)
    try:
        asyncio.run(send_all(receiver.status_url, count + WARM_UP))
        receiver.store.flush()
        measured = latencies_ms(receiver.events())
        return "this script (the sandbox's HTTP client)", measured[WARM_UP:]
    finally:
        receiver.stop()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--sender", choices=("sandbox", "self"), default="sandbox")
    args = parser.parse_args()
    run = run_with_sandbox if args.sender == "sandbox" else run_as_sender
    sender, values = run(args.events)
    if len(values) < args.events:
        raise SystemExit(f"only {len(values)} of {args.events} events were measured")
    p50, p90, p99 = (percentile(values, p) for p in (50, 90, 99))
    print(f"webhook latency over loopback, sender: {sender}; signatures verified")
    print(f"events measured: {len(values)} (after {WARM_UP} warm-up)")
    print(f"p50 {p50:.2f} ms  p90 {p90:.2f} ms  p99 {p99:.2f} ms  max {max(values):.2f} ms  "
          f"mean {statistics.fmean(values):.2f} ms")
    print(f"target p50 <= 5 ms: {'met' if p50 <= 5 else 'NOT met'}")
    print(f"webhook_p50_ms={p50:.2f} webhook_p99_ms={p99:.2f}")


if __name__ == "__main__":
    main()
