"""A workshop of 500 attendees on one sandbox, all at once: no errors, no lost or repeated webhooks.

One standalone ``fbfailover sandbox --workshop`` (file database, 600 simulated seconds per real second) and one
thread per attendee, spread over ``--processes`` processes (each attendee is a kernel of its own in a real room).
No attendee runs a receiver the sandbox could reach: as on Binder or a JupyterHub, every attendee pulls their
webhooks from the sandbox's event stream (``StreamSource``, one long-poll each). Each attendee, released
together with all the others:

1. asks the sandbox for an account of their own (``POST /_sandbox/accounts`` with the workshop token);
2. starts pulling their account's webhooks (signature checks on, with their signature secret);
3. points the account-level webhooks at their mailbox and sends an inbound Messenger message (notebook 01);
4. creates an application with a key pair generated locally (notebook 02) and mints JWTs (notebook 03);
5. sends the tutorial's failover workflow twice: once to a recipient who never reads (Messenger, then SMS
   after the 600 s expiry) and once to one who reads after 30 s (notebook 04);
6. waits for both final reports, then for every webhook the sandbox recorded for the account.

A webhook is *lost* when the sandbox recorded it for the account but the attendee's stream never brought it
(or it was refused); *duplicate* when the attendee was shown it twice. The webhook latency is from the moment the
sandbox produced a webhook (kept it in the mailbox) to the moment it entered the attendee's store. The last line is
``attendees=500 errors=<n> lost_webhooks=<n> duplicate_webhooks=<n> webhook_p99_ms=<n> p99_api_ms=<n> wall_s=<n>``.

    python -m benchmarks.workshop [--attendees 500] [--time-scale 600] [--processes 32]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from fbfailover.keys import generate_private_key, public_pem
from fbfailover.sandbox.workshop_client import create_account
from fbfailover.tokens import mint_application_jwt
from fbfailover.webhooks.stream import StreamSource

ROOT = Path(__file__).resolve().parents[1]

TOKEN = "bench-workshop"
PAGE, SMS_FROM, SMS_TO = "107083064136738", "447700900000", "447700900001"
EXPECTED_EVENTS = 1 + 5 + 4  # inbound; unread: 2 messenger + 2 sms + report; read: 3 messenger + report


def workflow(psid: str, text: str) -> dict:
    return {"template": "failover", "workflow": [
        {"from": {"type": "messenger", "id": PAGE}, "to": {"type": "messenger", "id": psid},
         "message": {"content": {"type": "text", "text": text}},
         "failover": {"expiry_time": 600, "condition_status": "read"}},
        {"from": {"type": "sms", "number": SMS_FROM}, "to": {"type": "sms", "number": SMS_TO},
         "message": {"content": {"type": "text", "text": text}}}]}


@dataclass
class Attendee:
    number: int
    url: str
    latencies: list[float] = field(default_factory=list)
    by_call: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lost: int = 0
    duplicates: int = 0
    webhook_ms: list[float] = field(default_factory=list)
    receiver: StreamSource | None = None
    key: object = None

    def call(self, session: requests.Session, method: str, path: str, ok: int, **kwargs) -> dict:
        started = time.perf_counter()
        response = session.request(method, self.url + path, timeout=30, **kwargs)
        ms = (time.perf_counter() - started) * 1000
        self.latencies.append(ms)
        self.by_call.setdefault(f"{method} {re.sub(r'/messenger/.*', '/messenger/ID', path)}", []).append(ms)
        if response.status_code != ok:
            raise RuntimeError(f"{method} {path} -> {response.status_code} {response.text[:200]}")
        return response.json() if response.content else {}

    def run(self, start: Any) -> None:
        # Each attendee's key pair is made before the start: on real laptops it costs their own CPU, not the
        # room's, and a hundred RSA key generations at once would otherwise queue these processes' threads.
        self.key = generate_private_key()
        start.wait()
        session = requests.Session()
        try:
            self._tutorial(session)
        except Exception as exc:
            self.errors.append(f"attendee {self.number}: {type(exc).__name__}: {exc}")
        finally:
            session.close()
            if self.receiver is not None:
                self.receiver.stop()

    def _tutorial(self, session: requests.Session) -> None:
        started = time.perf_counter()
        account = create_account(self.url, TOKEN)
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.by_call.setdefault("POST /_sandbox/accounts", []).append(self.latencies[-1])
        auth = (account.api_key, account.api_secret)
        rx = self.receiver = StreamSource(self.url, account.api_key, account.api_secret,
                                          signature_secret=account.signature_secret)
        self.call(session, "POST", "/account/settings", 200,  # credentials in the query, as the Account API takes them
                  params={"api_key": account.api_key, "api_secret": account.api_secret},
                  data={"moCallBackUrl": rx.inbound_sms_url, "drCallBackUrl": rx.delivery_receipt_url})
        inbound = self.call(session, "POST", "/_sandbox/inbound", 202, auth=auth,
                            json={"channel": "messenger", "text": "hello"})
        psid = inbound["from"]["id"] if isinstance(inbound["from"], dict) else inbound["from"]
        key = self.key
        app = self.call(session, "POST", "/v2/applications", 201, auth=auth, json={
            "name": f"attendee-{self.number}", "keys": {"public_key": public_pem(key)},
            "capabilities": {"messages": {"webhooks": {
                "inbound_url": {"address": rx.inbound_url, "http_method": "POST"},
                "status_url": {"address": rx.status_url, "http_method": "POST"}}}}})
        reader = psid[:-1] + ("1" if psid[-1] != "1" else "2")
        self.call(session, "PUT", f"/_sandbox/recipients/messenger/{reader}", 200, auth=auth,
                  json={"outcome": "read", "after": 30})
        uuids = []
        for to in (psid, reader):
            token = mint_application_jwt(app["id"], key)  # a fresh JWT per request, as nexmo-node does
            sent = self.call(session, "POST", "/v0.1/dispatch", 202, json=workflow(to, f"hi {self.number}"),
                             headers={"Authorization": f"Bearer {token}"})
            uuids.append(sent["dispatch_uuid"])
        try:
            reports = [rx.wait_for("final_report", dispatch_uuid=u, timeout=120) for u in uuids]
        except Exception:
            recorded = self.call(session, "GET", "/_sandbox/deliveries", 200, auth=auth)["deliveries"]
            print(f"attendee {self.number}: deliveries {[(d['status'], d['attempts'][-1:]) for d in recorded][:3]}",
                  file=sys.stderr)
            raise
        if [r.body.get("status") for r in reports] != ["completed", "completed"]:
            raise RuntimeError(f"final reports: {[r.body for r in reports]}")
        # Every webhook the sandbox recorded for this account must have reached this attendee: wait for them
        # here (no polling of the sandbox, which would load it like no room does), then compare once.
        deadline = time.monotonic() + 60
        while len(rx.events()) < EXPECTED_EVENTS and time.monotonic() < deadline:
            time.sleep(0.05)
        recorded = self.call(session, "GET", "/_sandbox/deliveries", 200, auth=auth)["deliveries"]
        events = rx.events()
        self.lost = max(0, EXPECTED_EVENTS - len(events)) + len(rx.rejections)
        self.duplicates = len(events) - len({e.key for e in events})
        self.webhook_ms = [(e.received_at - e.sent_at) * 1000 for e in events if e.sent_at]
        undelivered = [d for d in recorded if d["status"] != "delivered"]
        if len(recorded) != EXPECTED_EVENTS or undelivered:
            raise RuntimeError(f"{len(recorded)} webhooks recorded, {len(undelivered)} not delivered")


def start_sandbox(db: Path, time_scale: float, attendees: int) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fbfailover.sandbox", "--port", "0", "--db", str(db), "--workshop",
         "--workshop-token", TOKEN, "--time-scale", str(time_scale), "--max-accounts", str(attendees + 1)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    match = re.search(r"listening on (http://\S+)", proc.stdout.readline())
    if not match:
        proc.kill()
        raise SystemExit("the sandbox did not start")
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep its pipe drained
    return proc, match.group(1)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0


def run_group(url: str, numbers: list[int], start: Any) -> list[Attendee]:
    """One process's attendees, each on a thread of its own; returns them without their streams (picklable)."""
    people = [Attendee(n, url) for n in numbers]
    threads = [threading.Thread(target=p.run, args=(start,), name=f"attendee-{p.number}") for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for person in people:
        person.receiver, person.key = None, None
    return people


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attendees", type=int, default=500)
    parser.add_argument("--time-scale", type=float, default=600.0)
    parser.add_argument("--processes", type=int, default=32,
                        help="attendee processes (each attendee is a kernel of its own in a real room; one process "
                             "for everyone queues them all behind one interpreter lock)")
    args = parser.parse_args()
    groups = [list(range(i + 1, args.attendees + 1, args.processes)) for i in range(args.processes)]
    groups = [g for g in groups if g]
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="fbfailover-workshop-") as tmp:
        proc, url = start_sandbox(Path(tmp) / "workshop.sqlite3", args.time_scale, args.attendees)
        try:
            with context.Manager() as manager, context.Pool(len(groups)) as pool:
                start = manager.Barrier(args.attendees + 1)
                pending = [pool.apply_async(run_group, (url, group, start)) for group in groups]
                start.wait()  # every key pair made, every attendee waiting: go
                began = time.monotonic()
                people = [person for result in pending for person in result.get(timeout=600)]
                wall = time.monotonic() - began
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    errors = [e for p in people for e in p.errors]
    for error in errors[:10]:
        print(error, file=sys.stderr)
    latencies = [ms for p in people for ms in p.latencies]
    lost = sum(p.lost for p in people)
    duplicates = sum(p.duplicates for p in people)
    webhook_ms = [ms for p in people for ms in p.webhook_ms]
    calls: dict[str, list[float]] = {}
    for person in people:
        for name, values in person.by_call.items():
            calls.setdefault(name, []).extend(values)
    for name, values in sorted(calls.items()):
        print(f"{name:45s} n={len(values):4d} p50_ms={sorted(values)[len(values) // 2]:7.1f} "
              f"p99_ms={p99(values):7.1f}")
    print(f"api_calls={len(latencies)} median_api_ms={sorted(latencies)[len(latencies) // 2]:.1f}"
          if latencies else "api_calls=0")
    if webhook_ms:
        print(f"webhooks={len(webhook_ms)} webhook_p50_ms={sorted(webhook_ms)[len(webhook_ms) // 2]:.1f} "
              f"webhook_p99_ms={p99(webhook_ms):.1f} (target p99 <= 250)")
    print(f"attendees={len(people)} errors={len(errors)} lost_webhooks={lost} duplicate_webhooks={duplicates} "
          f"webhook_p99_ms={p99(webhook_ms):.1f} p99_api_ms={p99(latencies):.1f} wall_s={wall:.1f}")
    return 1 if errors or lost or duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
